-- wrk script: POST the photo files given after `--` as raw image/jpeg bodies, cycling through
-- them, and print one JSON line of results at the end (read by bench/http/wrk.ts).
--   wrk -t1 -c16 -d10s -s photos.lua http://127.0.0.1:8080/v1/predict?top=5 -- a.jpg b.jpg
-- Runs once per wrk thread (init, request, response) and once more for setup and done.

local bodies = {}
local next_body = 0
ok = 0 -- global: done() reads each thread's count with thread:get("ok")

function init(args)
  for _, path in ipairs(args) do
    local file = assert(io.open(path, "rb"))
    -- nil path: the URL's path and query
    bodies[#bodies + 1] = wrk.format("POST", nil, { ["Content-Type"] = "image/jpeg" }, file:read("*a"))
    file:close()
  end
  assert(#bodies > 0, "no photo files after --")
end

function request()
  next_body = next_body % #bodies + 1
  return bodies[next_body]
end

function response(status)
  if status >= 200 and status < 300 then ok = ok + 1 end
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency)
  local answered = 0
  for _, thread in ipairs(threads) do answered = answered + thread:get("ok") end
  local e = summary.errors
  io.write(string.format(
    '{"durationUs":%d,"responses":%d,"ok":%d,"socketErrors":%d,"p50Us":%d,"p99Us":%d}\n',
    summary.duration, summary.requests, answered, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
