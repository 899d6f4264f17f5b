-- POST /api/usage, one record per request, all on the same key (the hot-key case); gateway
-- authenticated by the shared secret
local keyId = os.getenv("KW_KEY_ID")
local token = os.getenv("KW_TOKEN")
local counter = 0
local prefix = ""
function setup(thread)
  thread:set("tid", tostring(math.random(1, 1000000000)))
end
function init(args)
  prefix = "h" .. tid .. "-" .. tostring(os.time())
end
request = function()
  counter = counter + 1
  return wrk.format("POST", "/api/usage",
    {["Content-Type"] = "application/json", ["X-Keywarden-Gateway-Secret"] = "bench-secret"},
    '{"requestId":"' .. prefix .. "-" .. counter .. '","keyId":"' .. keyId ..
    '","costUsd":"0.000001"}')
end
