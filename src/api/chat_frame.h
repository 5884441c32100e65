/*
 * chat_frame: parsing and checking one client websocket frame of the chat
 * transport (docs/chat-transport.md §1.4, API.md §7) - untrusted input
 * straight from the socket. A frame is one JSON object of type "message"
 * (body, optional client_id and attachments: ids), "typing" (state: bool) or "presence"
 * (state: "online" | "away"). The refusals carry the code and detail of
 * the error frame sent back to the client.
 * Must not: know the request, the caller, the database or the bus; it is
 * pure so that it can be unit-tested and fuzzed (t/fuzz/fuzz_chat_frame.c).
 */
#ifndef SP_CHAT_FRAME_H
#define SP_CHAT_FRAME_H

#include <stdbool.h>
#include <stddef.h>

#include "core/problem.h"

struct sp_arena;

/* Largest client frame accepted (docs/chat-transport.md §1.4, §11.3). */
#define SP_CHAT_FRAME_MAX 16384
#define SP_CHAT_BODY_MAX_CHARS 4000
/* The detail of the too_long error frame, whichever check finds it. */
#define SP_CHAT_TOO_LONG_DETAIL                                                              \
    "body is longer than 4000 characters once sanitized (escaped characters such as < and &" \
    " count as several)"
#define SP_CHAT_CLIENT_ID_MAX 64

enum sp_chat_frame_type {
    SP_CHAT_FRAME_INVALID = 0, /* too large, or not one JSON object */
    SP_CHAT_FRAME_MESSAGE,
    SP_CHAT_FRAME_TYPING,
    SP_CHAT_FRAME_PRESENCE,
    SP_CHAT_FRAME_OTHER,       /* an object of no known type */
};

struct sp_chat_frame {
    enum sp_chat_frame_type type; /* set even when the frame is refused */
    /* message */
    const char *body;             /* sanitized HTML (arena), has visible text */
    size_t body_len;
    const char *client_id;        /* arena copy, or NULL when absent/null */
    const char **attachments;     /* attachment ids (arena copies); n may be 0. Also
                                   * read when body or client_id is refused, if
                                   * well-formed: an error frame lists them too */
    size_t nattachments;
    /* typing */
    bool typing;
    /* presence: "online" or "away" (static) */
    const char *state;
    /* refusal: the error frame's code and detail (static strings; the
     * detail of a text that is not JSON is the HTTP body reader's,
     * "malformed JSON: …", in the arena) */
    const char *code, *detail;
    /* the refused member of a message frame (body, client_id,
     * attachments); NULL for a refusal of the frame as a whole */
    const char *field;
};

/* Parses data[0..len) into *f, read as strictly as an HTTP body
 * (sp_json_parse: UTF-8, no member named twice, no NaN). Returns SP_OK,
 * or SP_INVALID with f->code ("frame_too_large", "invalid_frame", …)
 * and f->detail set; f->type tells how far the frame got. Strings in *f
 * live in the arena or are static. */
enum sp_rc sp_chat_frame_parse(struct sp_arena *a, const char *data, size_t len,
                               struct sp_chat_frame *f);

#endif
