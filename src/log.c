/* placeholder: being written */
typedef int bivae_placeholder_log;
