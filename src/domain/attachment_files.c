/*
 * attachment_files: a directory or a bucket. See attachment_files.h.
 */
#include "domain/attachment_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/s3.h"

bool
sp_attachment_files_from_config(const struct sp_config *c, struct sp_s3 *s3,
                                struct sp_attachment_files *out, char *err, size_t errlen)
{
    bool on;
    if (!sp_config_s3(c, s3, &on, err, errlen)) {
        sp_log_msg(SP_LOG_ERROR, "config_invalid", "%s", err);
        return false;
    }
    /* The prefix names objects in the bucket; files in the directory have none. */
    *out = (struct sp_attachment_files){c->attachment_dir, on ? s3 : NULL,
                                        on ? c->s3_prefix : NULL};
    return true;
}

const char *
sp_attachment_files_incoming_key(struct sp_arena *a, const struct sp_attachment_files *f,
                                 const char *id)
{
    return sp_arena_sprintf(a, "%sincoming/%s", f->prefix != NULL ? f->prefix : "", id);
}

/* A stored key's random part: 8 bytes as 16 lowercase hex digits. */
#define STORED_RANDOM_BYTES 8
#define STORED_RANDOM_HEX (2 * STORED_RANDOM_BYTES)

const char *
sp_attachment_files_stored_key(struct sp_arena *a, const struct sp_attachment_files *f,
                               const char *id)
{
    char suffix[STORED_RANDOM_HEX + 1];
    sp_random_hex(suffix, STORED_RANDOM_BYTES);
    return sp_arena_sprintf(a, "%s%s.%s", f->prefix != NULL ? f->prefix : "", id, suffix);
}

bool
sp_attachment_files_stored_name(const char *name)
{
    char id[SP_PUBLIC_ID_LEN + 1];
    if (strlen(name) != SP_PUBLIC_ID_LEN + 1 + STORED_RANDOM_HEX || name[SP_PUBLIC_ID_LEN] != '.')
        return false;
    memcpy(id, name, SP_PUBLIC_ID_LEN);
    id[SP_PUBLIC_ID_LEN] = '\0';
    const char *random = name + SP_PUBLIC_ID_LEN + 1;
    return sp_public_id_valid(id) && strspn(random, "0123456789abcdef") == STORED_RANDOM_HEX;
}

bool
sp_attachment_files_put(const struct sp_attachment_files *f, const char *key, int fd,
                        long long size, const char *content_type, char *err, size_t errlen)
{
    if (lseek(fd, 0, SEEK_SET) != 0) {
        snprintf(err, errlen, "cannot rewind the copy: %s", strerror(errno));
        return false;
    }
    return sp_s3_put(f->s3, key, fd, size, content_type, err, errlen) == SP_S3_OK;
}

/* An anonymous file of dir for a fetched copy: gone from the directory
 * at once, so nothing is left behind whatever happens to this process. */
static int
temp_fd(const char *dir, char *err, size_t errlen)
{
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        snprintf(err, errlen, "cannot make a temporary file in %s: %s", dir, strerror(errno));
    return fd;
}

int
sp_attachment_files_open(const struct sp_attachment_files *f, const char *key, long long max,
                         bool *missing, char *err, size_t errlen)
{
    *missing = false;
    if (f->s3 == NULL) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", f->dir, key);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            *missing = errno == ENOENT;
            snprintf(err, errlen, "%s", strerror(errno));
        }
        return fd;
    }
    int fd = temp_fd(f->dir, err, errlen);
    if (fd < 0)
        return -1;
    enum sp_s3_result res = sp_s3_get(f->s3, key, fd, max, err, errlen);
    if (res == SP_S3_OK && lseek(fd, 0, SEEK_SET) == 0)
        return fd;
    *missing = res == SP_S3_NOT_FOUND;
    if (res == SP_S3_OK)
        snprintf(err, errlen, "cannot rewind the fetched copy: %s", strerror(errno));
    close(fd);
    return -1;
}

bool
sp_attachment_files_remove(const struct sp_attachment_files *f, struct sp_arena *a,
                           const char *key, char *err, size_t errlen)
{
    if (f->s3 != NULL)
        return sp_s3_delete(f->s3, key, err, errlen) == SP_S3_OK;
    const char *path = sp_arena_sprintf(a, "%s/%s", f->dir, key);
    if (unlink(path) == 0 || errno == ENOENT)
        return true;
    snprintf(err, errlen, "%s", strerror(errno));
    return false;
}
