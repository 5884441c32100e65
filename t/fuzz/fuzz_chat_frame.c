/*
 * fuzz_chat_frame: libFuzzer target for client websocket frames
 * (sp_chat_frame_parse, src/api/chat_frame.c): the JSON of one frame as
 * the nchan publisher hook hands it over, unchecked. Aborts unless a
 * refusal carries one of the error frame codes/details clients know, and
 * an accepted frame is what the transport may store or relay: a message
 * body of sanitized, valid UTF-8 with visible text, a client_id of 1 to
 * 64 bytes of valid UTF-8 without NUL, a presence state online|away.
 * Build: scripts/dev fuzz chat_frame (replayed by `make check` as
 * t/fuzz/fuzz_chat_frame).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/chat_frame.h"
#include "core/arena.h"
#include "core/utf8.h"
#include "domain/attachments.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static const char *const refusals[][2] = {
    {"frame_too_large", "frames carry at most 16 KiB of JSON"},
    {"invalid_frame", "a frame is one JSON object"},
    {"invalid_frame", "type must be message, typing or presence"},
    {"invalid_frame", "body must be a string"},
    {"invalid_frame", "body must have 1 to 4000 characters"},
    {"too_long", "body is longer than 4000 characters"},
    {"invalid_frame", "client_id must be a string of 1 to 64 characters"},
    {"invalid_frame", "body has no text once unsafe markup is removed"},
    {"invalid_frame", "body has no visible text"},
    {"invalid_frame", "typing state must be true or false"},
    {"invalid_frame", "presence state must be online or away"},
    {"too_long", "body is longer than 4000 characters once sanitized (escaped characters such"
                 " as < and & count as several)"},
    {"invalid_frame", "attachments must be an array of at most 10 ids"},
    {"unknown_attachment", "attachments lists something that is not an attachment id"},
    {"invalid_frame", "body must not contain \\u0000"},
};

/* Refusals of a text that is not JSON carry sp_json_parse's detail. */
#define MALFORMED "malformed JSON: "

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_arena a;
    struct sp_chat_frame f;
    sp_arena_init(&a, 4096);
    enum sp_rc rc = sp_chat_frame_parse(&a, (const char *)data, size, &f);
    if (rc != SP_OK) {
        CHECK(rc == SP_INVALID && f.code != NULL && f.detail != NULL);
        bool malformed = strcmp(f.code, "invalid_frame") == 0 &&
                         strncmp(f.detail, MALFORMED, strlen(MALFORMED)) == 0;
        bool known = malformed;
        for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
            known = known || (strcmp(f.code, refusals[i][0]) == 0 &&
                              strcmp(f.detail, refusals[i][1]) == 0);
        CHECK(known);
        CHECK((f.type == SP_CHAT_FRAME_INVALID) == (strcmp(f.detail, refusals[0][1]) == 0 ||
                                                     strcmp(f.detail, refusals[1][1]) == 0 ||
                                                     malformed));
        CHECK(size <= SP_CHAT_FRAME_MAX || strcmp(f.code, "frame_too_large") == 0);
        sp_arena_destroy(&a);
        return 0;
    }
    CHECK(f.code == NULL && f.detail == NULL && size <= SP_CHAT_FRAME_MAX);
    switch (f.type) {
    case SP_CHAT_FRAME_MESSAGE:
        CHECK(f.body != NULL && f.body_len > 0 && strlen(f.body) == f.body_len);
        CHECK(sp_utf8_count(f.body, f.body_len) <= SP_CHAT_BODY_MAX_CHARS);
        CHECK(sp_utf8_valid(f.body, f.body_len));
        CHECK(strstr(f.body, "<script") == NULL);
        if (f.client_id != NULL) {
            size_t n = strlen(f.client_id);
            CHECK(n >= 1 && n <= SP_CHAT_CLIENT_ID_MAX && sp_utf8_valid(f.client_id, n));
        }
        CHECK(f.nattachments <= SP_ATTACHMENTS_PER_MESSAGE);
        for (size_t i = 0; i < f.nattachments; i++) {
            size_t n = strlen(f.attachments[i]);
            CHECK(n >= 1 && n <= 64 && sp_utf8_valid(f.attachments[i], n));
        }
        break;
    case SP_CHAT_FRAME_TYPING:
        break;
    case SP_CHAT_FRAME_PRESENCE:
        CHECK(f.state != NULL &&
              (strcmp(f.state, "online") == 0 || strcmp(f.state, "away") == 0));
        break;
    default:
        abort();
    }
    sp_arena_destroy(&a);
    return 0;
}
