-- POST-then-poll flows for wrk: each 202's Location is polled until the task answers "complete".
-- Reads POST_BODY and AUTH from the environment; counts finished flows per wrk thread.
local body = os.getenv("POST_BODY")
local auth = os.getenv("AUTH")
local pending = {}
flows = 0

function setup(thread)
  threads = threads or {}
  table.insert(threads, thread)
end

function request()
  local location = table.remove(pending, 1)
  local headers = {["Content-Type"] = "application/json"}
  if auth and auth ~= "" then headers["Authorization"] = auth end
  if location then
    return wrk.format("GET", location, headers)
  end
  return wrk.format("POST", "/api/academic/petitions", headers, body)
end

function response(status, headers, reply)
  if status == 202 and headers["Location"] then
    table.insert(pending, (headers["Location"]:gsub("^https?://[^/]+", "")))
  elseif status == 200 and reply:find('"complete"', 1, true) then
    flows = flows + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("flows") end
  io.write(string.format("FLOWS %d\n", total))
end
