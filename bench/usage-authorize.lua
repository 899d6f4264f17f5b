-- POST /api/authorize with the bench key; env KW_KEY (secret) and KW_TOKEN (gateway token)
local key = os.getenv("KW_KEY")
local token = os.getenv("KW_TOKEN")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if os.getenv("KW_AUTH") == "secret" then
  wrk.headers["X-Keywarden-Gateway-Secret"] = "bench-secret"
else
  wrk.headers["Authorization"] = "Bearer " .. token
end
wrk.body = '{"key":"' .. key .. '","clientIp":"10.0.0.1","model":"gpt-4o-mini"}'
