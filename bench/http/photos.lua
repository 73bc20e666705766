-- wrk script: POST the requests given after `--`, cycling through them, and print one JSON line
-- of results at the end (read by bench/http/wrk.ts). A request is a photo file (sent as a raw
-- image/jpeg body to the URL's path) or, for other routes and bodies, lines joined by "\n": the
-- body file, the path and query, then "Name: value" headers.
--   wrk -t1 -c16 -d10s -s photos.lua http://127.0.0.1:8080/v1/predict?top=5 -- a.jpg b.jpg
-- Runs once per wrk thread (init, request, response) and once more for setup and done.

local bodies = {}
local next_body = 0
-- globals: done() reads each thread's counts with thread:get()
ok = 0
client_errors = 0
server_errors = 0

function init(args)
  for _, arg in ipairs(args) do
    local lines = {}
    for line in (arg .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = line end
    local headers = { ["Content-Type"] = "image/jpeg" }
    for i = 3, #lines do
      local name, value = lines[i]:match("^([^:]+):%s*(.*)$")
      assert(name, "not a header: " .. lines[i])
      headers[name] = value
    end
    local file = assert(io.open(lines[1], "rb"))
    -- nil path: the URL's path and query
    local path = lines[2] ~= "" and lines[2] or nil
    bodies[#bodies + 1] = wrk.format("POST", path, headers, file:read("*a"))
    file:close()
  end
  assert(#bodies > 0, "no requests after --")
end

function request()
  next_body = next_body % #bodies + 1
  return bodies[next_body]
end

function response(status)
  if status >= 200 and status < 300 then ok = ok + 1
  elseif status >= 400 and status < 500 then client_errors = client_errors + 1
  elseif status >= 500 then server_errors = server_errors + 1 end
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency)
  local answered, c4, c5 = 0, 0, 0
  for _, thread in ipairs(threads) do
    answered = answered + thread:get("ok")
    c4 = c4 + thread:get("client_errors")
    c5 = c5 + thread:get("server_errors")
  end
  local e = summary.errors
  io.write(string.format(
    '{"durationUs":%d,"responses":%d,"ok":%d,"clientErrors":%d,"serverErrors":%d,"socketErrors":%d,"p50Us":%d,"p99Us":%d}\n',
    summary.duration, summary.requests, answered, c4, c5, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
