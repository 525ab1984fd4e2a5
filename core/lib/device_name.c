/* The WireGuard device name rule (device_name.h). */
#include "vpn/device_name.h"

#include <string.h>

#include "vpn/username.h"

static bool name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.' || ch == '-';
}

bool device_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > DEVICE_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!name_char(name[i]))
            return false;
    return true;
}

const char *device_section_split(const char *section, char user[USERNAME_MAX + 1],
                                 char device[DEVICE_NAME_MAX + 1])
{
    const char *colon = strrchr(section, ':');
    if (!colon)
        return "expected USER:DEVICE";
    size_t ulen = (size_t)(colon - section);
    const char *why = username_check(section, ulen);
    if (why)
        return "the user name is not one (" USERNAME_RULE ")";
    if (!device_name_valid(colon + 1))
        return "the device name must be " DEVICE_NAME_RULE;
    memcpy(user, section, ulen);
    user[ulen] = '\0';
    strcpy(device, colon + 1);
    return NULL;
}

void device_id_of_name(const char *name, uint8_t id[DEVICE_ID_LEN])
{
    memset(id, 0, DEVICE_ID_LEN);
    memcpy(id, name, strnlen(name, DEVICE_NAME_MAX));
}

bool device_name_of_id(const uint8_t id[DEVICE_ID_LEN], char out[DEVICE_NAME_MAX + 1])
{
    memcpy(out, id, DEVICE_NAME_MAX);
    out[DEVICE_NAME_MAX] = '\0';
    if (id[DEVICE_NAME_MAX] != 0 || !device_name_valid(out))
        return false;
    for (size_t i = strlen(out); i < DEVICE_ID_LEN; i++)
        if (id[i])
            return false;
    return true;
}
