/* Lookup in the compiled-in page files (see www.h). */
#include "www.h"

#include <string.h>

const struct www_file *www_find(const char *url)
{
    if (strcmp(url, "/") == 0)
        url = "/index.html";
    for (int i = 0; i < www_files_count; i++)
        if (strcmp(www_files[i].path, url) == 0)
            return &www_files[i];
    return NULL;
}
