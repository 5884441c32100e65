/*
 * slots: at most n holders at once across the processes of one node —
 * n slot files <dir>/<name>.<i>, a holder being whoever has one locked
 * with flock(2). The kernel drops a lock when its descriptor is closed,
 * so a worker that dies (a crash, SIGKILL, a respawn) frees its slot with
 * it: no count can be left behind (a shared counter could). Taking one
 * never waits: a full set answers at once.
 * Must not: know what the slots guard; keep a descriptor open past
 * sp_slot_release.
 */
#ifndef SP_SLOTS_H
#define SP_SLOTS_H

#include <stddef.h>

/* What sp_slot_take found. */
enum sp_slot {
    SP_SLOT_TAKEN,     /* *fd holds one, locked: give it back with sp_slot_release */
    SP_SLOT_FULL,      /* all n are held */
    SP_SLOT_FAILED,    /* a slot file could not be opened or locked: errno says why */
};

/* The first free slot of n (n ≥ 1) of the set <dir>/<name>.<i>, files
 * created 0600 when missing; *fd is -1 unless SP_SLOT_TAKEN. Opened for
 * this call only (never inherited: each holder needs its own open file,
 * flock locks belong to it). */
enum sp_slot sp_slot_take(const char *dir, const char *name, long n, int *fd);

/* Gives the slot back (closes fd); -1 is nothing. */
void sp_slot_release(int fd);

/* The directory part of path ("." for a bare name), arena-free: written
 * into out (size outlen), NULL when it does not fit. */
const char *sp_slot_dir_of(const char *path, char *out, size_t outlen);

#endif
