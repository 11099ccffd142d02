-- refresh asks the operator for a new token now (an API key: a new check).
local actions = {}
actions["refresh"] = {["iconClass"] = "fa fa-fw fa-sync", ["displayName"] = "Refresh token"}
return actions
