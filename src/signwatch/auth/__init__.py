"""Who may do what: principals, bearer tokens and their scopes on tenants."""
