-- bench/post_ticket.lua — wrk script for scenario (d): POST /support/tickets.
--
-- Every request is a POST with a fresh JSON body: a unique-ish subject
-- ("bench <thread>-<start>-<n>") and a small HTML description (the sanitizer
-- runs on it, as in real traffic). No Idempotency-Key: that is a separate
-- code path (a replay cache).
--
-- Requests rotate over many customers: BENCH_TOKENS_FILE names a file of
-- bearer tokens, one per line (bench/run writes it). With a single customer
-- every create would queue on that customer's rate-limit row — a hot spot
-- real traffic (many customers, 10 tickets/min each) never has. Without the
-- file, the Authorization header given to wrk with -H is used.
-- bench/run passes Content-Type with -H.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local next_thread = 0

-- Runs in the main Lua state, once per wrk thread, before it starts.
function setup(thread)
   next_thread = next_thread + 1
   thread:set("thread_no", next_thread)
end

local counter = 0
local prefix = "0"
local tokens = {}
local ntokens = 0

-- Runs in each thread's own Lua state.
function init(args)
   local no = thread_no or 0
   prefix = string.format("%d-%d", no, os.time())
   local path = os.getenv("BENCH_TOKENS_FILE")
   if path and path ~= "" then
      local f = assert(io.open(path, "r"))
      for line in f:lines() do
         if line ~= "" then
            ntokens = ntokens + 1
            tokens[ntokens] = "Bearer " .. line
         end
      end
      f:close()
   end
   -- Threads start at different customers.
   counter = no * 7919
end

function request()
   counter = counter + 1
   if ntokens > 0 then
      wrk.headers["Authorization"] = tokens[counter % ntokens + 1]
   end
   local body = string.format(
      '{"subject":"bench %s-%d","description":"<p>Bench ticket %d: I was'
         .. ' charged <b>twice</b> for booking BK-%06d and would like a'
         .. ' refund of the second charge.</p>","source":"web"}',
      prefix, counter, counter, counter % 1000000)
   return wrk.format("POST", nil, nil, body)
end
