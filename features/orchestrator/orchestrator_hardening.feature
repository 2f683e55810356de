@suite_orchestrator_hardening
Feature: Hardening against hostile jobs and clients

  A job controls every byte and every path under its work dir; a client controls every byte of a request.
  Neither gets anything of the host or of other users out of the server, and neither can wear it down.

  # --- 1. job outputs never reach host files ----------------------------------------------------------------

  # --- 2. the process runner tells the truth and isolates what it can ---------------------------------------

  # --- 3. no request can exhaust the server -----------------------------------------------------------------

  # --- 4. users share the dispatcher fairly -----------------------------------------------------------------

  # --- 5. the serve command line and schema upgrades ---------------------------------------------------------
