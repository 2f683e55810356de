"""The User API Gateway: HTTP only (parse, authorise, call the store and dispatcher, render)."""
