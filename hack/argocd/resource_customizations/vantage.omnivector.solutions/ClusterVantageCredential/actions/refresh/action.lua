-- A new value of refresh-requested-at forces one exchange (for an API key,
-- one check); the operator echoes the value it handled in
-- status.lastHandledRefreshRequest. The value is the time in UTC to the
-- second, as in Argo CD's own restart actions.
local os = require("os")
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["vantage.omnivector.solutions/refresh-requested-at"] = os.date("!%Y-%m-%dT%XZ")
return obj
