/* src/signals.c — see signals.h. */
#include "src/signals.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common/check.h"

static volatile sig_atomic_t pending;
static const int caught[] = {SIGTERM, SIGUSR1};
#define N_CAUGHT ((int)(sizeof caught / sizeof caught[0]))
static struct sigaction previous[N_CAUGHT];
static int installed;

static void on_signal(int sig) { pending = sig; }

void signals_install(void)
{
    if (installed)
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    if (sigemptyset(&sa.sa_mask) != 0)
        FAIL_RUNTIME("sigemptyset: %s", strerror(errno));
    for (int i = 0; i < N_CAUGHT; i++)
        if (sigaction(caught[i], &sa, &previous[i]) != 0)
            FAIL_RUNTIME("sigaction(%s): %s", signals_name(caught[i]), strerror(errno));
    installed = 1;
}

void signals_restore(void)
{
    if (!installed)
        return;
    for (int i = 0; i < N_CAUGHT; i++)
        if (sigaction(caught[i], &previous[i], NULL) != 0)
            FAIL_RUNTIME("sigaction(%s): %s", signals_name(caught[i]), strerror(errno));
    installed = 0;
}

int signals_pending(void) { return (int)pending; }

const char *signals_name(int sig)
{
    static char buf[32];
    if (sig == SIGTERM)
        return "SIGTERM";
    if (sig == SIGUSR1)
        return "SIGUSR1";
    snprintf(buf, sizeof buf, "signal %d", sig);
    return buf;
}
