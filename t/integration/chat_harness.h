/*
 * chat_harness: the chat tests' shared pieces — an active session with its
 * own agent, connect URLs, and the Python websocket client
 * ($SP_TEST_CHAT_CLIENT) driven through a pipe, one JSON event a line.
 */
#ifndef SP_T_CHAT_HARNESS_H
#define SP_T_CHAT_HARNESS_H

#include <stdbool.h>
#include <stdio.h>

#include "harness.h"

struct sp_t_chat {
    const char *id, *token;
    struct sp_t_user customer, agent;
};

struct sp_t_chat sp_t_chat_active(void);
int64_t sp_t_chat_agent_alone(struct sp_t_user *out, const char **team);
/* c's agent hands the chat to agent agent_id (200). */
void sp_t_chat_transfer(const struct sp_t_chat *c, int64_t agent_id);
const char *sp_t_chat_url(const char *scheme, const char *id, const char *token, const char *access_token);
const char *sp_t_shq(const char *s);
const char *sp_t_python(void);
FILE *sp_t_ws_client(const char *url, const char *extra);
struct json_object *sp_t_ws_next(FILE *f);
const char *sp_t_ws_event(struct json_object *o);
void sp_t_ws_expect_open(FILE *f);
/* chat_probe.py MODE URL extra: es | longpoll | stress (see its header). */
FILE *sp_t_chat_probe(const char *mode, const char *url, const char *extra);
/* Waits (up to 15 s) until nchan counts at least n subscribers on the
 * session's channel: the signal a long-poll has none of its own. */
void sp_t_chat_wait_subscribers(const char *id, long n);
/* The status of a websocket handshake to url (ws://...; extra: more curl
 * arguments, already quoted) as curl makes it: for refusals, without the
 * Python client's start-up (a 101 holds curl to its 5 s --max-time). */
long sp_t_ws_refusal_status(const char *url, const char *extra);
/* GET url (http://...) by curl with extra arguments (already quoted): the
 * status; the Content-Type and the body in *content_type and *body. */
long sp_t_chat_curl(const char *url, const char *extra, const char **content_type,
                    const char **body);
/* Publishes a system frame {"type":"system","event":marker} through
 * nginx's internal socket to the session's channel, or to principal's
 * private one ("customer-<sub>", "agent-<sub>"): the end of a client run
 * with --until marker. nchan keeps a channel's order, so a client that
 * reads up to the marker has heard everything published there before. */
void sp_t_chat_mark(const char *id, const char *principal, const char *marker);
/* The next client line whose "event" is ev_name; other lines skipped. */
struct json_object *sp_t_ws_next_event(FILE *f, const char *ev_name);

/* Reads the client to its end ("done"; a "closed" fails the test) and
 * closes it; the frames received, a JSON array owned by the caller. */
struct json_object *sp_t_ws_drain(FILE *f);
/* The same, but a socket the server closes ends the read too: *closed
 * says which end it was. */
struct json_object *sp_t_ws_drain_to_end(FILE *f, bool *closed);
/* The first frame of this type among frames (with this body, when body
 * is not NULL), or NULL. */
struct json_object *sp_t_chat_frame(struct json_object *frames, const char *type,
                                    const char *body);

/* Where nginx's error logs (SP_TEST_LOG_DIR) end now: a test takes one
 * before what could crash an nginx worker, then asserts none did since. */
#define SP_T_NGINX_LOGS 2
struct sp_t_crash_mark {
    long at[SP_T_NGINX_LOGS];
};
struct sp_t_crash_mark sp_t_nginx_crash_mark(void);
/* No nginx worker exited on a signal since m; else fails, quoting the
 * logs' alerts, signals and assertions since. */
void sp_t_assert_no_nginx_crash_since(struct sp_t_crash_mark m);

#endif
