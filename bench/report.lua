-- bench/report.lua — wrk done() hook shared by every wrk scenario of
-- bench/run. Prints one machine-readable line that bench/run parses:
--
--   BENCH_RESULT requests=N duration_us=N rps=F p50_ms=F p90_ms=F p99_ms=F
--                max_ms=F mean_ms=F non2xx=N connect=N read=N write=N timeout=N
--
-- rps counts successful responses only: wrk's requests less non2xx (a
-- 429 of the per-IP guard is fast, and would inflate the figure); the
-- latency percentiles are wrk's, over every response.
-- `non2xx` is wrk's errors.status: responses with a status >= 400 (wrk's
-- "Non-2xx or 3xx responses"). bench/run checks 2xx statuses up front with
-- curl, so a 3xx cannot slip through unnoticed either.
-- Scripts with their own request() (post_ticket.lua) dofile() this one.

function done(summary, latency, requests)
   local e = summary.errors
   local secs = summary.duration / 1e6
   local rps = 0
   if secs > 0 then
      rps = (summary.requests - e.status) / secs
   end
   io.write(string.format(
      "BENCH_RESULT requests=%d duration_us=%d rps=%.1f p50_ms=%.3f p90_ms=%.3f"
         .. " p99_ms=%.3f max_ms=%.3f mean_ms=%.3f non2xx=%d connect=%d read=%d"
         .. " write=%d timeout=%d\n",
      summary.requests, summary.duration, rps,
      latency:percentile(50) / 1000, latency:percentile(90) / 1000,
      latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000,
      e.status, e.connect, e.read, e.write, e.timeout))
end
