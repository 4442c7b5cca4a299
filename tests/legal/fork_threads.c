/*
 * fork() while other threads allocate: the child must be able to allocate
 * and exit cleanly every time (the allocator's locks are fork-safe).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int stop;

static void *churn(void *arg)
{
  (void)arg;
  while (!stop) {
    void *p[16];
    for (int i = 0; i < 16; i++)
      p[i] = malloc((size_t)(i * 37 + 1));
    for (int i = 0; i < 16; i++)
      free(p[i]);
  }
  return NULL;
}

int main(void)
{
  pthread_t t[3];
  for (int i = 0; i < 3; i++)
    pthread_create(&t[i], NULL, churn, NULL);
  for (int round = 0; round < 300; round++) {
    pid_t pid = fork();
    if (pid == 0) {
      char *s = malloc(1000);
      memset(s, 'c', 1000);
      free(s);
      _exit(0);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
      fprintf(stderr, "child %d failed\n", round);
      return 1;
    }
  }
  stop = 1;
  for (int i = 0; i < 3; i++)
    pthread_join(t[i], NULL);
  puts("fork ok");
  return 0;
}
