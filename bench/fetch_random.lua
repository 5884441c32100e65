-- bench/fetch_random.lua — wrk script of bench/queue's fetch scenarios
-- (f) and (fc): random tickets, so nearly every request reads a ticket no
-- worker has just read. BENCH_FETCH_FILE holds lines "<path> <bearer
-- token>" (bench/queue writes them: random tickets, with the agent's token
-- for (f), each with its own customer's token for (fc)); each request is a
-- random line (random_lines.lua).

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "random_lines.lua")

local requests = {}

function init(args)
   for _, l in ipairs(random_lines("BENCH_FETCH_FILE")) do
      requests[#requests + 1] = wrk.format("GET", l[1], {["Authorization"] = l[2]})
   end
end

function request()
   return requests[math.random(1, #requests)]
end
