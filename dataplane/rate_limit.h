/* The inbound publish quota of a session (SPEC section 6): token buckets for messages and
 * bytes, each refilled at its rate per second and holding at most one second's worth (the
 * burst), and the rule that turns a sustained excess into a disconnect. Pure: the caller
 * passes the clock in milliseconds (tests drive time). Not thread-safe: the connection's
 * worker alone uses a quota. */
#ifndef EG_RATE_LIMIT_H
#define EG_RATE_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct token_bucket {
    int64_t milli_tokens; /* tokens x 1000, at most rate x 1000 (one second's worth) */
    int64_t updated_ms;   /* when milli_tokens was last refilled */
} token_bucket;

/* Fills the bucket (a new one starts with its burst available). */
void token_bucket_fill(token_bucket *b, uint32_t rate, int64_t now_ms);
/* Refills for the time since the last call, then whether `cost` tokens are there (a cost over
 * the burst needs a full bucket). Nothing is taken: token_bucket_take does. */
bool token_bucket_has(token_bucket *b, uint32_t rate, uint64_t cost, int64_t now_ms);
/* Takes `cost` tokens that token_bucket_has found (capped at the burst). */
void token_bucket_take(token_bucket *b, uint32_t rate, uint64_t cost);

typedef struct publish_rate_limits {
    uint32_t messages_per_second;
    uint32_t bytes_per_second;
    uint32_t sustained_ms; /* refusals for this long in a row, none a second apart: disconnect */
} publish_rate_limits;

typedef struct publish_quota {
    token_bucket messages, bytes;
    int64_t streak_start_ms; /* the first refusal of the current run of them; -1: none */
    int64_t last_refusal_ms;
    int64_t logged_ms;         /* when a refusal was last logged (publish_quota_log_due) */
    uint32_t refused_unlogged; /* refusals since then */
} publish_quota;

enum publish_verdict {
    PUBLISH_ALLOWED,        /* within the rates: the tokens are taken */
    PUBLISH_OVER_RATE,      /* refused */
    PUBLISH_OVER_RATE_LONG, /* refused, and refusals have gone on for sustained_ms */
};

void publish_quota_init(publish_quota *q, const publish_rate_limits *lim, int64_t now_ms);
/* One PUBLISH of `packet_bytes`. A message let through does not end a run of refusals (an
 * over-rate publisher gets one through whenever a token comes back); a second without a
 * refusal does. */
enum publish_verdict publish_quota_check(publish_quota *q, const publish_rate_limits *lim,
                                         uint64_t packet_bytes, int64_t now_ms);
/* After a refusal: whether to log it now (at most one line a second per quota); *refused is
 * then the number of refusals that line stands for. */
bool publish_quota_log_due(publish_quota *q, int64_t now_ms, uint32_t *refused);

#endif
