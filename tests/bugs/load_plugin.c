/* dlopen() the plugin named by argv[1] (a relative path) and run its bug. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
  void *plugin = argc > 1 ? dlopen(argv[1], RTLD_NOW) : NULL;
  void (*bug)(void) = plugin ? (void (*)(void))dlsym(plugin, "plugin_frees_twice") : NULL;
  if (!bug) {
    fprintf(stderr, "load_plugin: %s\n", dlerror());
    return 2;
  }
  bug();
  return 0;
}
