"""IAM and STS subsets: users, roles, policies, access keys, role sessions."""
