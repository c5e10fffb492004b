/* Publish rate quota (rate_limit.h). Tokens are kept in thousandths so that a rate of a few
 * tokens a second still refills every millisecond without rounding a refill away. */
#include "rate_limit.h"

static int64_t capacity(uint32_t rate)
{
    return (int64_t)rate * 1000;
}

void token_bucket_fill(token_bucket *b, uint32_t rate, int64_t now_ms)
{
    b->milli_tokens = capacity(rate);
    b->updated_ms = now_ms;
}

static int64_t cost_of(uint32_t rate, uint64_t cost)
{
    return cost >= rate ? capacity(rate) : (int64_t)cost * 1000;
}

bool token_bucket_has(token_bucket *b, uint32_t rate, uint64_t cost, int64_t now_ms)
{
    int64_t elapsed = now_ms - b->updated_ms;
    if (elapsed >= 1000) /* a second refills any bucket (and keeps the product below overflow) */
        b->milli_tokens = capacity(rate);
    else if (elapsed > 0)
        b->milli_tokens += elapsed * rate; /* rate tokens a second = rate thousandths a millisecond */
    if (b->milli_tokens > capacity(rate))
        b->milli_tokens = capacity(rate);
    if (elapsed > 0) /* a clock going back refills nothing */
        b->updated_ms = now_ms;
    return b->milli_tokens >= cost_of(rate, cost);
}

void token_bucket_take(token_bucket *b, uint32_t rate, uint64_t cost)
{
    b->milli_tokens -= cost_of(rate, cost);
}

void publish_quota_init(publish_quota *q, const publish_rate_limits *lim, int64_t now_ms)
{
    token_bucket_fill(&q->messages, lim->messages_per_second, now_ms);
    token_bucket_fill(&q->bytes, lim->bytes_per_second, now_ms);
    q->streak_start_ms = -1;
    q->last_refusal_ms = 0;
    q->logged_ms = now_ms - 1000;
    q->refused_unlogged = 0;
}

enum publish_verdict publish_quota_check(publish_quota *q, const publish_rate_limits *lim,
                                         uint64_t packet_bytes, int64_t now_ms)
{
    /* Both checked before either is taken: a refused message costs nothing. */
    bool has_messages = token_bucket_has(&q->messages, lim->messages_per_second, 1, now_ms);
    bool has_bytes = token_bucket_has(&q->bytes, lim->bytes_per_second, packet_bytes, now_ms);
    if (has_messages && has_bytes) {
        token_bucket_take(&q->messages, lim->messages_per_second, 1);
        token_bucket_take(&q->bytes, lim->bytes_per_second, packet_bytes);
        return PUBLISH_ALLOWED;
    }
    if (q->streak_start_ms < 0 || now_ms - q->last_refusal_ms > 1000)
        q->streak_start_ms = now_ms;
    q->last_refusal_ms = now_ms;
    q->refused_unlogged++;
    return now_ms - q->streak_start_ms >= (int64_t)lim->sustained_ms ? PUBLISH_OVER_RATE_LONG
                                                                     : PUBLISH_OVER_RATE;
}

bool publish_quota_log_due(publish_quota *q, int64_t now_ms, uint32_t *refused)
{
    if (now_ms - q->logged_ms < 1000)
        return false;
    *refused = q->refused_unlogged;
    q->refused_unlogged = 0;
    q->logged_ms = now_ms;
    return true;
}
