-- bench/kb.lua — wrk script of bench/kb: GET the paths listed in the file
-- $BENCH_KB_PATHS (one per line) in turn, each thread starting at its own
-- offset, with the extra headers of the command line (-H); the loop is
-- rotate_lines.lua's (requests formatted once, no response() hook).
--
-- Which answers were 200 (and which came from nginx's cache) bench/kb
-- counts in nginx's access log of the measured run; a run with any other
-- status or socket errors is invalid, so its figures are those of 200
-- responses only.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "rotate_lines.lua")

function init(args)
   rotate_lines("BENCH_KB_PATHS", function(line) return wrk.format("GET", line) end)
end
