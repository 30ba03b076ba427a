"""The Lua scripts behind :class:`~binance_instloan.RedisLimiter`, each atomic in Redis.

Every key a script touches is passed in ``KEYS`` and shares the bucket's hash tag, so the
scripts run unchanged on Redis Cluster. Times are milliseconds of the Binance-synced clock of
the calling process (never Redis's own clock), window indexes are ``floor(ms / window_ms)``.

Keys of one bucket (``tag`` is ``{prefix:IP:<ip_label>:<path>}`` or
``{prefix:UID:<account>:<path>}``):

- ``tag:w:<index>``: weight counted in that window; expires two windows after it is created.
- ``tag:inflight``: sorted set of permits not yet released, ``<id>:<weight>`` scored by the
  time after which a permit whose process died stops counting.
- ``tag:inflight_weight``: the sum of the weights in ``tag:inflight``.
- ``tag:pause``: the end of a 429 pause. A 418 ban is one key per IP label,
  ``{prefix:IP:<ip_label>}:ban``, read beside the acquire script (see the limiter).
- ``{prefix}:limits``: the budgets every process of the fleet must share (see ``LIMITS``).
"""

from __future__ import annotations

import hashlib
from typing import Final

import attrs

__all__ = ["ACQUIRE", "ADD", "LIMITS", "PAUSE", "RAISE", "RELEASE", "Script"]


@attrs.frozen
class Script:
    name: str
    source: str
    sha: str = attrs.field(init=False)

    @sha.default
    def _sha(self) -> str:
        return hashlib.sha1(self.source.encode(), usedforsecurity=False).hexdigest()


# KEYS: inflight, inflight_weight, pause, window lo, window hi, window hi + 1
# ARGV: now, window_ms, lo, hi, limit (-1: pauses only), weight, margin, member, deadline,
#       inflight_ttl
# lo..hi are the windows the request may land in (its time +- the clock's uncertainty).
# Answers {0, used} admitted, {1, wake_at, used} full until wake_at, {2, paused_until}.
# ``used`` is the weight counted in the window of ``now``.
ACQUIRE: Final = Script("acquire", """
local now = tonumber(ARGV[1])
local paused = tonumber(redis.call('GET', KEYS[3]) or '0')
if paused > now then return {2, paused} end
local limit = tonumber(ARGV[5])
if limit < 0 then return {0, 0} end
local wms = tonumber(ARGV[2])
local lo = tonumber(ARGV[3])
local hi = tonumber(ARGV[4])
local weight = tonumber(ARGV[6])
-- Permits of a process that died mid-request stop counting after their deadline.
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #dead > 0 then
  local gone = 0
  for _, member in ipairs(dead) do
    gone = gone + tonumber(string.match(member, ':(%d+)$'))
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  if redis.call('DECRBY', KEYS[2], gone) < 0 then redis.call('SET', KEYS[2], 0) end
end
local inflight = tonumber(redis.call('GET', KEYS[2]) or '0')
local keys = {KEYS[4]}
local windows = {lo}
if hi ~= lo then
  keys[2] = KEYS[5]
  windows[2] = hi
end
-- Another process already counts the next window (its clock is ahead, or it is inside the
-- uncertainty margin): this request may still be in flight when that window starts.
if redis.call('EXISTS', KEYS[6]) == 1 then
  keys[#keys + 1] = KEYS[6]
  windows[#windows + 1] = hi + 1
end
local cur = math.floor(now / wms)
local used = {}
local known = {}
local full = nil
local used_now = 0
for i, key in ipairs(keys) do
  local value = redis.call('GET', key)
  known[i] = value ~= false
  -- A window nobody has counted yet starts with everything in flight: those requests may
  -- reach Binance after it begins.
  used[i] = known[i] and tonumber(value) or inflight
  if used[i] + weight > limit then full = windows[i] end
  if windows[i] == cur then used_now = used[i] end
end
if full then return {1, (full + 1) * wms + tonumber(ARGV[7]), used_now} end
for i, key in ipairs(keys) do
  if known[i] then
    redis.call('INCRBY', key, weight)
  else
    redis.call('SET', key, used[i] + weight, 'PX', 2 * wms)
  end
end
local ttl = tonumber(ARGV[10])
redis.call('ZADD', KEYS[1], tonumber(ARGV[9]), ARGV[8])
redis.call('INCRBY', KEYS[2], weight)
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return {0, used_now + weight}
""")

# KEYS: inflight, inflight_weight, window of now
# ARGV: member, weight, window_ms, used weight from the response header (-1: none)
RELEASE: Final = Script("release", """
if redis.call('EXISTS', KEYS[3]) == 0 then
  -- Nobody counted this window yet, and this request was in flight when it began.
  local inflight = tonumber(redis.call('GET', KEYS[2]) or '0')
  redis.call('SET', KEYS[3], inflight, 'PX', 2 * tonumber(ARGV[3]))
end
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  if redis.call('DECRBY', KEYS[2], tonumber(ARGV[2])) < 0 then redis.call('SET', KEYS[2], 0) end
end
-- Binance's own count raises ours (others on this IP or account used weight), never lowers it.
local seen = tonumber(ARGV[4])
if seen > tonumber(redis.call('GET', KEYS[3])) then
  redis.call('SET', KEYS[3], seen, 'KEEPTTL')
end
return 1
""")

# KEYS: window counters.  ARGV: weight, window_ms.  Raises each counter to at least ``weight``.
RAISE: Final = Script("raise", """
local value = tonumber(ARGV[1])
for _, key in ipairs(KEYS) do
  local current = redis.call('GET', key)
  if not current then
    redis.call('SET', key, value, 'PX', 2 * tonumber(ARGV[2]))
  elseif tonumber(current) < value then
    redis.call('SET', key, value, 'KEEPTTL')
  end
end
return 1
""")

# KEYS: pause or ban key.  ARGV: until (ms), ttl (ms).  Extends a pause, never shortens it.
PAUSE: Final = Script("pause", """
local until_ms = tonumber(ARGV[1])
if until_ms > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
  return 1
end
return 0
""")

# KEYS: the fleet's limits.  ARGV: this process's limits, ttl (ms).  Stores them if none are
# stored (the first process sets them), keeps them alive, and answers the stored ones.
LIMITS: Final = Script("limits", """
local stored = redis.call('GET', KEYS[1])
if not stored then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
  return ARGV[1]
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return stored
""")

# KEYS: inflight_weight, window counters.  ARGV: window_ms, then the weight to add to each
# counter. A counter nobody started yet starts, as in ACQUIRE, with the weight in flight.
ADD: Final = Script("add", """
local inflight = tonumber(redis.call('GET', KEYS[1]) or '0')
for i = 2, #KEYS do
  local weight = tonumber(ARGV[i])
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('INCRBY', KEYS[i], weight)
  else
    redis.call('SET', KEYS[i], inflight + weight, 'PX', 2 * tonumber(ARGV[1]))
  end
end
return 1
""")
