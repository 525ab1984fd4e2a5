/* The operator's changes to the users and classes files (see user_admin.h). */
#include "vpn/user_admin.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vpn/atomic_file.h"
#include "vpn/ini_edit.h"
#include "vpn/netaddr.h"
#include "vpn/secret_file.h"
#include "vpn/server_config.h"
#include "vpn/username.h"
#include "vpn/users_file.h"

enum { LOCK_POLL_MS = 50, CLASSES_MODE_NEW = 0644, FILE_MAX = 4 << 20 };

/* The whole file at fd into a NUL-terminated heap string. */
static char *read_all(int fd, const char *path, char *why, size_t why_len)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size > FILE_MAX) {
        snprintf(why, why_len, "%s: cannot be read: %s", path,
                 st.st_size > FILE_MAX ? "too large" : strerror(errno));
        return NULL;
    }
    size_t cap = (size_t)st.st_size + 1, len = 0;
    char *buf = malloc(cap);
    ssize_t n;
    while (buf && len + 1 < cap && (n = pread(fd, buf + len, cap - 1 - len, (off_t)len)) > 0)
        len += (size_t)n;
    if (!buf) {
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    buf[len] = '\0';
    if (strlen(buf) != len) {
        sodium_memzero(buf, len);
        free(buf);
        snprintf(why, why_len, "%s: holds a NUL byte", path);
        return NULL;
    }
    return buf;
}

static int lock(struct user_admin *a, char *why, size_t why_len)
{
    a->lock_fd = open(a->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (a->lock_fd < 0) {
        snprintf(why, why_len, "cannot open the lock file %s: %s", a->lock_path,
                 strerror(errno));
        return -1;
    }
    for (int waited = 0; flock(a->lock_fd, LOCK_EX | LOCK_NB) != 0; waited += LOCK_POLL_MS) {
        if (errno != EWOULDBLOCK || waited >= USER_ADMIN_LOCK_WAIT_MS) {
            snprintf(why, why_len, "cannot lock %s: %s", a->lock_path,
                     errno == EWOULDBLOCK ? "another vpnctl holds it" : strerror(errno));
            return -1;
        }
        usleep(LOCK_POLL_MS * 1000);
    }
    return 0;
}

static int collect_user(void *ctx, const struct users_file_entry *e, const char *file,
                        struct config_error *err)
{
    struct user_admin *a = ctx;
    struct user_admin_user *u = &a->users[a->n_users++];
    memcpy(u->name, e->name, sizeof(u->name));
    memcpy(u->token, e->token, TOKEN_LEN);
    u->disabled = e->disabled;
    return 0;
}

static int collect_device(void *ctx, const struct users_file_wg_entry *p, const char *file,
                          struct config_error *err)
{
    struct user_admin *a = ctx;
    struct user_admin_device *d = &a->devices[a->n_devices++];
    memcpy(d->user, p->user, sizeof(d->user));
    memcpy(d->name, p->device, sizeof(d->name));
    memcpy(d->public_key, p->public_key, KEY_LEN);
    d->has_preshared_key = p->has_preshared_key;
    return 0;
}

/* users_text into users[] and devices[], by the enclave's rules. */
static int parse_users(struct user_admin *a, const char *name, char *why, size_t why_len)
{
    struct config_error err;
    sodium_memzero(a->users, sizeof(*a->users) * MAX_USERS);
    a->n_users = a->n_devices = 0;
    static const struct users_file_handlers h = { collect_user, collect_device };
    if (users_file_parse_all(name, a->users_text, strlen(a->users_text), &h, a, &err)) {
        snprintf(why, why_len, "%s", err.msg);
        return -1;
    }
    return 0;
}

int user_admin_reparse(struct user_admin *a, char *why, size_t why_len)
{
    return parse_users(a, a->users_path, why, why_len);
}

int user_admin_open(struct user_admin *a, const struct server_config *cfg, bool locked,
                    char *why, size_t why_len)
{
    memset(a, 0, sizeof(*a));
    a->cfg = cfg;
    a->lock_fd = -1;
    snprintf(a->users_path, sizeof(a->users_path), "%s", cfg->users_file);
    snprintf(a->lock_path, sizeof(a->lock_path), "%s.lock", cfg->users_file);
    if (server_config_classes_path(cfg, a->classes_path, sizeof(a->classes_path)) != 0) {
        snprintf(why, why_len, "classes file path too long");
        return -1;
    }
    a->users = calloc(MAX_USERS, sizeof(*a->users));
    /* The users file's bound (users_file.h); pages are touched only as devices are read. */
    a->devices = calloc((size_t)MAX_USERS * USER_DEVICES_MAX, sizeof(*a->devices));
    if (!a->users || !a->devices) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    if (locked && lock(a, why, why_len) != 0)
        return -1;

    char reason[400];
    int fd = secret_file_open(a->users_path, "tokens", reason, sizeof(reason));
    if (fd < 0 && access(a->users_path, F_OK) != 0 && errno == ENOENT) {
        a->users_text = strdup("");
    } else if (fd < 0) {
        snprintf(why, why_len, "users file %s %s", a->users_path, reason);
        return -1;
    } else {
        a->users_text = read_all(fd, a->users_path, why, why_len);
        close(fd);
    }
    if (!a->users_text || parse_users(a, a->users_path, why, why_len) != 0)
        return -1;

    fd = open(a->classes_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    struct stat st;
    a->classes_mode = CLASSES_MODE_NEW;
    if (fd < 0 && errno == ENOENT) {
        a->classes_text = strdup("");
    } else if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, why_len, "classes file %s: %s", a->classes_path,
                 fd < 0 ? strerror(errno) : "not a regular file");
        if (fd >= 0)
            close(fd);
        return -1;
    } else {
        a->classes_mode = st.st_mode & 07777;
        a->classes_text = read_all(fd, a->classes_path, why, why_len);
        close(fd);
    }
    a->classes_before = a->classes_text ? strdup(a->classes_text) : NULL;
    if (!a->classes_before) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    return 0;
}

void user_admin_close(struct user_admin *a)
{
    if (a->users_text) {
        sodium_memzero(a->users_text, strlen(a->users_text));
        free(a->users_text);
    }
    if (a->users) {
        sodium_memzero(a->users, sizeof(*a->users) * MAX_USERS);
        free(a->users);
    }
    free(a->devices);
    free(a->classes_text);
    free(a->classes_before);
    if (a->lock_fd >= 0)
        close(a->lock_fd);      /* releases the lock */
    memset(a, 0, sizeof(*a));
    a->lock_fd = -1;
}

const struct user_admin_user *user_admin_find(const struct user_admin *a, const char *name)
{
    for (int i = 0; i < a->n_users; i++)
        if (strcmp(a->users[i].name, name) == 0)
            return &a->users[i];
    return NULL;
}

static int known(const struct user_admin *a, const char *name, char *why, size_t why_len)
{
    if (user_admin_find(a, name))
        return 0;
    snprintf(why, why_len, "no user '%.63s' in %s", name, a->users_path);
    return -1;
}

static void section_of(const char *name, char *out, size_t len)
{
    snprintf(out, len, "user:%s", name);
}

int user_admin_add(struct user_admin *a, const char *name, const uint8_t token[TOKEN_LEN],
                   const char *class_name, const char *ip, int devices, char *why,
                   size_t why_len)
{
    const char *bad = username_check(name, strlen(name));
    if (bad) {
        snprintf(why, why_len, "the user name %s; expected " USERNAME_RULE, bad);
        return -1;
    }
    if (user_admin_find(a, name)) {
        snprintf(why, why_len, "user '%s' exists already (vpnctl user config %s prints its "
                 "bundle)", name, name);
        return -1;
    }
    if (a->n_users >= MAX_USERS) {
        snprintf(why, why_len, "the users file holds %d users, the most it may", MAX_USERS);
        return -1;
    }
    if (devices && (devices < 1 || devices > USER_DEVICES_MAX)) {
        snprintf(why, why_len, "--devices: expected 1 to %d", USER_DEVICES_MAX);
        return -1;
    }
    uint32_t addr;
    if (ip && parse_ipv4(ip, &addr) != 0) {
        snprintf(why, why_len, "--ip: expected a dotted IPv4 address like 10.8.0.10, got "
                 "\"%.64s\"", ip);
        return -1;
    }
    /* The class by name here, for a message that lists the classes there are; whether the
     * address fits the tunnel network is for the classes file's reader to say (commit). */
    bool class_ok = !class_name;
    for (int i = 0; class_name && i < a->cfg->n_classes; i++)
        class_ok |= strcmp(a->cfg->classes[i].name, class_name) == 0;
    if (!class_ok) {
        int n = snprintf(why, why_len, "--class: no [class:%.63s] in %s (classes:", class_name,
                         a->classes_path);
        for (int i = 0; i < a->cfg->n_classes && n > 0 && (size_t)n < why_len; i++)
            n += snprintf(why + n, why_len - (size_t)n, " %s", a->cfg->classes[i].name);
        if (n > 0 && (size_t)n < why_len)
            snprintf(why + n, why_len - (size_t)n, "%s)", a->cfg->n_classes ? "" : " none");
        return -1;
    }
    char section[USERNAME_MAX + 8], hex[2 * TOKEN_LEN + 1], num[16];
    section_of(name, section, sizeof(section));
    sodium_bin2hex(hex, sizeof(hex), token, TOKEN_LEN);
    int rc = ini_edit_set(&a->users_text, section, "auth_token", hex);
    sodium_memzero(hex, sizeof(hex));
    if (rc == 0 && class_name)
        rc = ini_edit_set(&a->classes_text, section, "class", class_name);
    if (rc == 0 && ip)
        rc = ini_edit_set(&a->classes_text, section, "vpn_ip", ip);
    snprintf(num, sizeof(num), "%d", devices);
    if (rc == 0 && devices)
        rc = ini_edit_set(&a->classes_text, section, "max_devices", num);
    if (rc != 0) {
        snprintf(why, why_len, "cannot edit the files: out of memory or a value with a newline");
        return -1;
    }
    a->users_changed = true;
    a->classes_changed |= class_name || ip || devices;
    return parse_users(a, a->users_path, why, why_len);
}

int user_admin_set_disabled(struct user_admin *a, const char *name, bool disabled, char *why,
                            size_t why_len)
{
    if (known(a, name, why, why_len) != 0)
        return -1;
    char section[USERNAME_MAX + 8];
    section_of(name, section, sizeof(section));
    int rc = disabled ? ini_edit_set(&a->users_text, section, "disabled", "true")
                      : ini_edit_remove_key(&a->users_text, section, "disabled");
    if (rc < 0) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    a->users_changed = true;
    return parse_users(a, a->users_path, why, why_len);
}

int user_admin_remove(struct user_admin *a, const char *name, char *why, size_t why_len)
{
    if (known(a, name, why, why_len) != 0)
        return -1;
    char section[USERNAME_MAX + 8], keys[USERNAME_MAX + 16], addresses[USERNAME_MAX + 16];
    section_of(name, section, sizeof(section));
    /* Its WireGuard devices go with it: the users file's reader refuses a device whose user
     * is not there. */
    snprintf(keys, sizeof(keys), "wireguard:%s:", name);
    snprintf(addresses, sizeof(addresses), "device:%s:", name);
    int in_classes = ini_edit_remove_section(&a->classes_text, section);
    int devices = ini_edit_remove_sections(&a->classes_text, addresses);
    if (ini_edit_remove_section(&a->users_text, section) < 0 || in_classes < 0 ||
        devices < 0 || ini_edit_remove_sections(&a->users_text, keys) < 0) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    a->users_changed = true;
    a->classes_changed |= in_classes > 0 || devices > 0;
    return parse_users(a, a->users_path, why, why_len);
}

/* The classes file as the server will read it: against server.conf as it is. */
static int check_classes(const char *tmp, void *ctx, char *why, size_t why_len)
{
    const struct user_admin *a = ctx;
    struct server_config *copy = malloc(sizeof(*copy));
    struct config_error err;
    if (!copy) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    *copy = *a->cfg;
    int rc = server_config_load_classes(tmp, copy, &err);
    free(copy);
    if (rc == 0)
        return 0;
    /* Name the file the operator knows, not the temporary one. */
    const char *at = strstr(err.msg, tmp);
    if (at)
        snprintf(why, why_len, "%.*s%s%s", (int)(at - err.msg), err.msg, a->classes_path,
                 at + strlen(tmp));
    else
        snprintf(why, why_len, "%s", err.msg);
    return -1;
}

/* The users file as the enclave will read it: by the secret-file rule, then users_file.h. */
static int check_users(const char *tmp, void *ctx, char *why, size_t why_len)
{
    const struct user_admin *a = ctx;
    char reason[400];
    int fd = secret_file_open(tmp, "tokens", reason, sizeof(reason));
    if (fd < 0) {
        snprintf(why, why_len, "users file %s", reason);
        return -1;
    }
    char *text = read_all(fd, a->users_path, why, why_len);
    close(fd);
    if (!text)
        return -1;
    int rc = strcmp(text, a->users_text) == 0 ? 0 : -1;
    if (rc)
        snprintf(why, why_len, "%s: read back differently", a->users_path);
    sodium_memzero(text, strlen(text));
    free(text);
    return rc;
}

int user_admin_commit(struct user_admin *a, char *why, size_t why_len)
{
    struct atomic_file_pending classes = { .ready = false }, users = { .ready = false };
    /* The users text was parsed after every change (parse_users): its rules hold. Both new
     * files are written and checked before either replaces its old one. */
    if (a->classes_changed &&
        atomic_file_prepare(&classes, a->classes_path, a->classes_text,
                            strlen(a->classes_text), a->classes_mode, check_classes, a, why,
                            why_len) != 0)
        return -1;
    if (a->users_changed &&
        atomic_file_prepare(&users, a->users_path, a->users_text, strlen(a->users_text), 0600,
                            check_users, a, why, why_len) != 0) {
        atomic_file_discard(&classes);
        return -1;
    }
    if (classes.ready && atomic_file_install(&classes, why, why_len) != 0) {
        atomic_file_discard(&users);
        return -1;
    }
    if (users.ready && atomic_file_install(&users, why, why_len) != 0) {
        /* A rename in the directory the other just succeeded in failed: put the classes file
         * back as it was, so that the two still agree. */
        char undo[512];
        if (a->classes_changed &&
            atomic_file_write(a->classes_path, a->classes_before, strlen(a->classes_before),
                              a->classes_mode, undo, sizeof(undo)) != 0) {
            size_t n = strlen(why);
            snprintf(why + n, why_len - n, "; and %s, which now holds the change alone: %s",
                     a->classes_path, undo);
        }
        return -1;
    }
    if (a->classes_changed) {
        char *now = strdup(a->classes_text);
        if (now) {
            free(a->classes_before);
            a->classes_before = now;
        }
    }
    a->users_changed = a->classes_changed = false;
    return 0;
}
