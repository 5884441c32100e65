-- bench/ai.lua — wrk script of bench/ai: POST /support/ai/query with the
-- bodies of the file $BENCH_AI_BODIES (one JSON body a line: a labelled
-- question and a ticket as context) in turn, each thread starting at its
-- own offset, as $BENCH_AI_TOKEN; the loop is rotate_lines.lua's.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "rotate_lines.lua")

function init(args)
   local headers = {
      ["Authorization"] = "Bearer " .. os.getenv("BENCH_AI_TOKEN"),
      ["Content-Type"] = "application/json",
   }
   rotate_lines("BENCH_AI_BODIES", function(line)
      return wrk.format("POST", "/support/ai/query", headers, line)
   end)
end
