/*
 * kernel/proc/programs.c - finds an embedded user program by name (see programs.h).
 */
#include "kernel/proc/programs.h"

#include "kernel/base/string.h"

const struct user_program *user_program_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < user_program_count; i++)
        if (strcmp(user_programs[i].name, name) == 0)
            return &user_programs[i];
    return NULL;
}
