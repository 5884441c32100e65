/*
 * ctx: what every domain call needs: the request's arena (results live as
 * long as the request) and the worker's database connection.
 */
#ifndef SP_CTX_H
#define SP_CTX_H

struct sp_arena;
struct sp_db;

struct sp_ctx {
    struct sp_arena *arena;
    struct sp_db *db;
};

#endif
