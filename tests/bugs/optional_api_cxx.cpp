// optional_api.c as C++: the header's optional API compiles and works there too.
#include "optional_api.c"
