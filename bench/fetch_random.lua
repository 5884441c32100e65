-- bench/fetch_random.lua — wrk script of bench/queue's fetch scenarios
-- (f) and (fc): random tickets, so nearly every request reads a ticket no
-- worker has just read. BENCH_FETCH_FILE holds lines "<path> <bearer
-- token>" (bench/queue writes them: random tickets, with the agent's token
-- for (f), each with its own customer's token for (fc)); each request is a
-- random line. Each wrk thread seeds its own generator. Loads report.lua.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local file = os.getenv("BENCH_FETCH_FILE")
local next_thread = 0
local requests = {}

function setup(thread)
   next_thread = next_thread + 1
   thread:set("seed", os.time() * 100 + next_thread)
end

function init(args)
   math.randomseed(seed or os.time())
   for line in io.lines(file) do
      local path, token = line:match("^(%S+) (%S+)$")
      if path then
         requests[#requests + 1] = wrk.format("GET", path,
            {["Authorization"] = "Bearer " .. token})
      end
   end
end

function request()
   return requests[math.random(1, #requests)]
end
