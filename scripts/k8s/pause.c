/* The pod sandbox's first process: waits for a signal to end, reaps orphans meanwhile. Built static by
 * scripts/test-cluster.sh because the usual image (registry.k8s.io/pause) cannot be pulled here. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void end(int signal) { (void)signal; _exit(0); }
static void reap(int signal) { (void)signal; while (waitpid(-1, 0, WNOHANG) > 0) {} }

int main(void) {
  struct sigaction stop = {.sa_handler = end}, child = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP};
  if (sigaction(SIGINT, &stop, 0) || sigaction(SIGTERM, &stop, 0) || sigaction(SIGCHLD, &child, 0)) return 1;
  for (;;) pause();
}
