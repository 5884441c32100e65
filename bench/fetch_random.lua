-- bench/fetch_random.lua — wrk script of bench/queue's (f) scenario: the
-- agent view of a random ticket (GET /support/agent/tickets/:id), ids drawn
-- uniformly from 1..BENCH_FETCH_MAX_ID (bench/queue passes the largest id),
-- so nearly every request reads a ticket no worker has just read.
-- Each wrk thread seeds its own generator. Loads report.lua.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local max_id = tonumber(os.getenv("BENCH_FETCH_MAX_ID") or "") or 1000
local next_thread = 0

function setup(thread)
   next_thread = next_thread + 1
   thread:set("seed", os.time() * 100 + next_thread)
end

function init(args)
   math.randomseed(seed or os.time())
end

function request()
   return wrk.format("GET", "/support/agent/tickets/" .. math.random(1, max_id))
end
