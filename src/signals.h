/* src/signals.h — preemption signals (SIGTERM, SIGUSR1) for checkpointing runs.
 *
 * The handlers (sigaction, SA_RESTART) only record the signal number in a
 * volatile sig_atomic_t: the one async-signal-safe thing to do. The trainer polls
 * signals_pending() at step boundaries and the ranks agree on it with one all-reduce
 * (src/train.c); see src/checkpoint.h "Preemption". Installed only by runs that can
 * write a checkpoint (--checkpoint-dir): otherwise the default action (terminate) stays. */
#ifndef BIVAE_SIGNALS_H
#define BIVAE_SIGNALS_H

/* Installs the handlers; a failed sigaction is a runtime failure (exit 3). */
void signals_install(void);
/* Puts the previous dispositions back. */
void signals_restore(void);
/* The last preemption signal received (SIGTERM or SIGUSR1), 0 if none. */
int signals_pending(void);
/* "SIGTERM", "SIGUSR1", or "signal N". */
const char *signals_name(int sig);

#endif
