/* The device name rule (see device_name.h). */
#include "vpn/device_name.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "vpn/username.h"

static bool allowed(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
}

const char *device_name_check(const char *name, size_t len)
{
    if (len == 0)
        return "is empty";
    if (len > DEVICE_NAME_MAX)
        return "is longer than 15 bytes";
    for (size_t i = 0; i < len; i++)
        if (!allowed(name[i]))
            return "has a character other than A-Z a-z 0-9 _ . -";
    return NULL;
}

int device_section_split(const char *name, char user[USERNAME_MAX + 1],
                         char device[DEVICE_NAME_MAX + 1], char *why, size_t why_len)
{
    const char *colon = strchr(name, ':');
    if (!colon) {
        snprintf(why, why_len, "has no ':DEVICE' after the user name");
        return -1;
    }
    size_t ulen = (size_t)(colon - name), dlen = strlen(colon + 1);
    const char *bad = username_check(name, ulen);
    if (bad) {
        snprintf(why, why_len, "has a user name that %s; expected " USERNAME_RULE, bad);
        return -1;
    }
    bad = device_name_check(colon + 1, dlen);
    if (bad) {
        snprintf(why, why_len, "has a device name that %s; expected " DEVICE_NAME_RULE, bad);
        return -1;
    }
    memcpy(user, name, ulen);
    user[ulen] = '\0';
    memcpy(device, colon + 1, dlen + 1);
    return 0;
}
