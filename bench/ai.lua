-- bench/ai.lua — wrk script of bench/ai: POST /support/ai/query with the
-- bodies of the file $BENCH_AI_BODIES (one JSON body a line: a labelled
-- question and a ticket as context) in turn, each thread starting at its
-- own offset, as $BENCH_AI_TOKEN. Requests are formatted once, in init();
-- no response() hook. done() is report.lua's (BENCH_RESULT line).
dofile((os.getenv("BENCH_DIR") or "bench") .. "/report.lua")

local counter = 0

function setup(thread)
   thread:set("tid", counter)
   counter = counter + 1
end

local reqs, n, i

function init(args)
   local f = assert(io.open(os.getenv("BENCH_AI_BODIES"), "r"))
   local headers = {
      ["Authorization"] = "Bearer " .. os.getenv("BENCH_AI_TOKEN"),
      ["Content-Type"] = "application/json",
   }
   reqs = {}
   for line in f:lines() do
      if line ~= "" then
         table.insert(reqs, wrk.format("POST", "/support/ai/query", headers, line))
      end
   end
   f:close()
   n = #reqs
   assert(n > 0, "no bodies in BENCH_AI_BODIES")
   i = (tid * 7919) % n
end

function request()
   i = i + 1
   if i > n then
      i = 1
   end
   return reqs[i]
end
