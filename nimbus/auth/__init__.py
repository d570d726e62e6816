"""Who is calling and what they may do: SigV4 authentication, the policy evaluator, the node
key, temporary credentials. Everything here but the node key's file is pure."""
