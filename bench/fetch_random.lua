-- bench/fetch_random.lua — wrk script of bench/queue's fetch scenarios:
-- random tickets, so nearly every request reads a ticket no worker has just
-- read (no per-worker rendering can answer it).
--
--   BENCH_FETCH_FILE set: each request takes a random line of the file,
--     "<path> <bearer token>" (fc: the customer view, each ticket with its
--     own customer's token; bench/queue writes the file);
--   otherwise: GET /support/agent/tickets/<id>, id uniform in
--     1..BENCH_FETCH_MAX_ID (f: the agent view; the Authorization header
--     comes from wrk's -H).
-- Each wrk thread seeds its own generator. Loads report.lua.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local max_id = tonumber(os.getenv("BENCH_FETCH_MAX_ID") or "") or 1000
local file = os.getenv("BENCH_FETCH_FILE")
local next_thread = 0
local requests = nil

function setup(thread)
   next_thread = next_thread + 1
   thread:set("seed", os.time() * 100 + next_thread)
end

function init(args)
   math.randomseed(seed or os.time())
   if file ~= nil and file ~= "" then
      requests = {}
      for line in io.lines(file) do
         local path, token = line:match("^(%S+) (%S+)$")
         if path then
            requests[#requests + 1] = wrk.format("GET", path,
               {["Authorization"] = "Bearer " .. token})
         end
      end
   end
end

function request()
   if requests ~= nil then
      return requests[math.random(1, #requests)]
   end
   return wrk.format("GET", "/support/agent/tickets/" .. math.random(1, max_id))
end
