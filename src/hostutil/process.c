#include "hostutil/process.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>

void veil_process_init(void)
{
    struct rlimit no_core = {0, 0};
    (void)setrlimit(RLIMIT_CORE, &no_core);
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    (void)signal(SIGPIPE, SIG_IGN);
}
