# Reference values for the core meta-analysis engine, computed with R metafor.
#
# Usage:  Rscript --vanilla tests/r/make_reference.R OUTDIR
# Writes: OUTDIR/metafor_core.json
#
# The committed copy lives in tests/reference/metafor_core.json and is compared
# with a fresh run by tests/test_reference_regeneration.py, so the output must be
# reproducible: no dates, no timings, no random numbers.  Every fit records the
# exact R call that produced it (evaluated from that very string), together with
# any warning or error metafor raised.
#
# Grid
#   yi/vi cases (published datasets from metadat, effect sizes computed here by
#   escalc(), plus synthetic edge cases) x method in FE, DL, REML, ML, PM, HS,
#   SJ, HE, EB x test in "z", "knha":
#     rma() estimates, Q-profile confint() for tau^2, predict() intervals.
#   2x2 cases (published and synthetic tables with zero cells and double-zero
#   tables): rma.mh() and rma.peto() (drop00 TRUE/FALSE), and rma() with
#   measure="OR" for FE, DL, REML x test x (to="only0" / "all") x drop00.
#
# Numbers are written with 17 significant digits ("%.17g"), so they round-trip
# exactly to IEEE doubles.  NA is written as null, NaN / Inf / -Inf as the
# strings "NaN", "Inf", "-Inf".  JSON is written by a small serializer below so
# that no package beyond metafor and metadat is needed.

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 1L) stop("usage: Rscript make_reference.R OUTDIR")
outdir <- args[1]
if (!dir.exists(outdir)) dir.create(outdir, recursive = TRUE)

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
})

# ---------------------------------------------------------------------------
# Minimal JSON serializer.
#   json_array(x)  : always an array (even for length 0 or 1)
#   atomic length 1: a scalar
#   named list     : an object (names kept in insertion order)
#   unnamed list   : an array
# ---------------------------------------------------------------------------
json_array <- function(x) structure(list(x), class = "json_array")

json_string <- function(s) {
  s <- gsub("\\", "\\\\", s, fixed = TRUE)
  s <- gsub("\"", "\\\"", s, fixed = TRUE)
  s <- gsub("\n", "\\n", s, fixed = TRUE)
  s <- gsub("\r", "\\r", s, fixed = TRUE)
  s <- gsub("\t", "\\t", s, fixed = TRUE)
  s <- gsub("[[:cntrl:]]", " ", s)
  paste0("\"", s, "\"")
}

json_scalar <- function(v) {
  if (is.factor(v)) v <- as.character(v)
  if (is.na(v) && !is.nan(v)) return("null")
  if (is.logical(v)) return(if (v) "true" else "false")
  if (is.character(v)) return(json_string(v))
  if (is.integer(v)) return(sprintf("%d", v))
  if (is.numeric(v)) {
    if (is.nan(v)) return("\"NaN\"")
    if (is.infinite(v)) return(if (v > 0) "\"Inf\"" else "\"-Inf\"")
    if (v == 0) return("0")  # also maps -0 to 0
    return(sprintf("%.17g", v))
  }
  stop("cannot serialise value of class ", class(v)[1])
}

to_json <- function(x, indent = 0L) {
  pad <- strrep("  ", indent)
  pad1 <- strrep("  ", indent + 1L)
  if (inherits(x, "json_array")) {
    v <- unclass(x)[[1]]
    if (is.list(v)) return(to_json(unname(v), indent))
    v <- unname(v)
    if (length(v) == 0L) return("[]")
    return(paste0("[", paste(vapply(seq_along(v), function(i) json_scalar(v[i]), ""), collapse = ", "), "]"))
  }
  if (is.null(x)) return("null")
  if (is.list(x)) {
    if (length(x) == 0L) return(if (is.null(names(x))) "[]" else "{}")
    if (is.null(names(x))) {
      items <- vapply(x, to_json, "", indent = indent + 1L)
      return(paste0("[\n", paste0(pad1, items, collapse = ",\n"), "\n", pad, "]"))
    }
    items <- vapply(names(x), function(n) paste0(json_string(n), ": ", to_json(x[[n]], indent + 1L)), "")
    return(paste0("{\n", paste0(pad1, items, collapse = ",\n"), "\n", pad, "}"))
  }
  if (length(x) != 1L) stop("atomic vectors of length != 1 must be wrapped in json_array()")
  json_scalar(x)
}

num <- function(x) if (is.null(x)) NA_real_ else as.numeric(x)[1]

# "level=90, " for a non-default confidence level, "" for metafor's default 95.
level_arg <- function(level) if (level == 95) "" else sprintf("level=%s, ", format(level))

# Evaluate a call given as a string; collect warnings, catch the error.
run_call <- function(call_string, env) {
  warns <- character(0)
  value <- withCallingHandlers(
    tryCatch(eval(parse(text = call_string), envir = env),
             error = function(e) structure(conditionMessage(e), class = "call_error")),
    warning = function(w) {
      warns <<- c(warns, conditionMessage(w))
      invokeRestart("muffleWarning")
    })
  err <- if (inherits(value, "call_error")) unclass(value) else NA_character_
  if (!is.na(err)) value <- NULL
  list(value = value, warnings = warns, error = err)
}

# ---------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------
METHODS <- c("FE", "DL", "REML", "ML", "PM", "HS", "SJ", "HE", "EB")
TESTS <- c("z", "knha")
# threshold: Fisher scoring (REML, ML, EB) stops when |change in tau^2| < threshold;
# tol: uniroot() tolerance for PM (and the ll0check of ML/REML); maxiter: both.
CONTROL <- "control=list(threshold=1e-12, maxiter=10000, tol=1e-12)"
# A few fits repeated at level=90 (alpha = 0.1) to check that alpha reaches every
# interval (CI, tau^2 CI, prediction interval).
ALPHA_LEVEL <- 90
ALPHA_YIVI_CASES <- c("bcg_logor", "edge_k2", "edge_large_heterogeneity")
ALPHA_YIVI_METHODS <- c("DL", "REML", "PM")
ALPHA_2X2_CASES <- c("bcg_2x2", "hahn2001_2x2")
# confint.rma.uni (Q-profile): uniroot() tolerance and iterations, and a search
# interval [0, 1e5] wide enough that no bound in this grid is the edge of the
# search (metafor's default upper edge, max(100, 10 * tau2), cuts the upper
# bound for dat.normand1999 under DL and HS).
CONFINT_CONTROL <- "control=list(tol=1e-12, maxiter=10000, tau2.max=1e5)"

# ---------------------------------------------------------------------------
# yi/vi cases
# ---------------------------------------------------------------------------
yivi_from_escalc <- function(escalc_call) {
  dat <- eval(parse(text = escalc_call))
  keep <- !is.na(dat$yi) & !is.na(dat$vi)
  list(yi = as.numeric(dat$yi[keep]), vi = as.numeric(dat$vi[keep]), n_dropped = sum(!keep))
}

published_yivi <- list(
  list(id = "bcg_logor", dataset = "dat.bcg",
       description = "BCG vaccine trials (Colditz et al. 1994), log odds ratios, no zero cells.",
       escalc = "escalc(measure=\"OR\", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)"),
  list(id = "nielweise2007_logor", dataset = "dat.nielweise2007",
       description = "Catheter-related bloodstream infections (Niel-Weise et al. 2007), log odds ratios; zero cells corrected (add=1/2, to=\"only0\"), the double-zero trial dropped.",
       escalc = "escalc(measure=\"OR\", ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.nielweise2007, add=1/2, to=\"only0\", drop00=TRUE)"),
  list(id = "normand1999_md", dataset = "dat.normand1999",
       description = "Length of hospital stay, stroke units vs conventional care (Normand 1999), raw mean differences.",
       escalc = "escalc(measure=\"MD\", m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=dat.normand1999)"),
  list(id = "molloy2014_zcor", dataset = "dat.molloy2014",
       description = "Conscientiousness and medication adherence (Molloy et al. 2014), Fisher r-to-z.",
       escalc = "escalc(measure=\"ZCOR\", ri=ri, ni=ni, data=dat.molloy2014)"),
  list(id = "hackshaw1998_logor", dataset = "dat.hackshaw1998",
       description = "Environmental tobacco smoke and lung cancer (Hackshaw et al. 1997), log odds ratios as supplied in metadat (yi, vi).",
       escalc = "dat.hackshaw1998")
)

synthetic_yivi <- list(
  list(id = "edge_tau2_boundary", edge = "tau2_boundary",
       description = "Q < k - 1: moment estimators truncate tau^2 at 0 (SJ stays positive by construction).",
       yi = c(0.10, 0.12, 0.08, 0.11, 0.09), vi = c(0.02, 0.03, 0.025, 0.04, 0.015)),
  list(id = "edge_k2", edge = "k2",
       description = "Two heterogeneous studies (t reference with 1 degree of freedom under knha).",
       yi = c(-0.5, 0.4), vi = c(0.04, 0.09)),
  list(id = "edge_k1", edge = "k1",
       description = "A single study: metafor sets tau^2 = 0, falls back to test=\"z\", and cannot profile tau^2.",
       yi = c(0.3), vi = c(0.04)),
  list(id = "edge_identical", edge = "identical",
       description = "Four identical studies: Q = 0; under knha the adjusted standard error is 0.",
       yi = c(0.2, 0.2, 0.2, 0.2), vi = c(0.05, 0.05, 0.05, 0.05)),
  list(id = "edge_large_heterogeneity", edge = "large_heterogeneity",
       description = "Widely spread effects with small variances (I^2 near 100%).",
       yi = c(-2.1, -0.4, 0.9, 2.7, 4.2, 5.8), vi = c(0.08, 0.15, 0.05, 0.30, 0.12, 0.22))
)

fit_yivi <- function(yi, vi, method, test, level = 95) {
  env <- new.env()
  assign("yi", yi, envir = env)
  assign("vi", vi, envir = env)
  rma_call <- sprintf("rma(yi, vi, method=\"%s\", test=\"%s\", %s%s)", method, test, level_arg(level), CONTROL)
  fit <- run_call(rma_call, env)
  out <- list(method = method, test = test, alpha = (100 - level) / 100, call = rma_call,
              warnings = json_array(fit$warnings), error = fit$error)
  if (is.null(fit$value)) {
    out["values"] <- list(NULL)
    return(out)
  }
  res <- fit$value
  assign("res", res, envir = env)
  ci_call <- sprintf("confint(res, %s)", CONFINT_CONTROL)
  ci <- run_call(ci_call, env)
  pr_call <- "predict(res)"
  pr <- run_call(pr_call, env)
  prv <- if (is.null(pr$value)) list() else unclass(pr$value)
  notes <- character(0)
  tau2_ci <- c(NA_real_, NA_real_)
  ci_null <- NA
  lb_sign <- NA_character_
  ub_sign <- NA_character_
  if (!is.null(ci$value)) {
    tau2_ci <- as.numeric(ci$value$random["tau^2", c("ci.lb", "ci.ub")])
    ci_null <- isTRUE(ci$value$ci.null)
    lb_sign <- ci$value$lb.sign
    ub_sign <- ci$value$ub.sign
    if (ci_null) notes <- c(notes, "confint: Q(0) is below the lower chi-square quantile; metafor reports the interval as the null set, printed as [0, 0].")
    if (!ci_null && (nzchar(lb_sign) || nzchar(ub_sign))) notes <- c(notes, "confint: a bound is the edge of the search interval (see tau2_ci_lb_sign / tau2_ci_ub_sign).")
  } else {
    notes <- c(notes, paste0("confint: error, tau2 CI recorded as null: ", ci$error))
  }
  if (is.null(prv$pi.lb)) notes <- c(notes, "predict: no prediction interval for a model without a random-effects component; pi recorded as null.")
  out$confint_call <- ci_call
  out$confint_warnings <- json_array(ci$warnings)
  out$predict_call <- pr_call
  out$test_used <- res$test
  out$notes <- json_array(notes)
  out$values <- list(
    b = num(res$b), se = num(res$se), ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
    zval = num(res$zval), pval = num(res$pval), tau2 = num(res$tau2),
    QE = num(res$QE), QEp = num(res$QEp), I2 = num(res$I2), H2 = num(res$H2),
    k = as.integer(res$k), ddf = num(res$ddf),
    tau2_ci_lb = tau2_ci[1], tau2_ci_ub = tau2_ci[2],
    tau2_ci_null = ci_null, tau2_ci_lb_sign = lb_sign, tau2_ci_ub_sign = ub_sign,
    pi_lb = num(prv$pi.lb), pi_ub = num(prv$pi.ub),
    cr_lb = num(prv$cr.lb), cr_ub = num(prv$cr.ub)
  )
  out
}

make_yivi_case <- function(spec, kind) {
  if (kind == "published") {
    e <- yivi_from_escalc(spec$escalc)
    yi <- e$yi
    vi <- e$vi
  } else {
    yi <- spec$yi
    vi <- spec$vi
  }
  fits <- list()
  for (m in METHODS) for (t in TESTS) fits[[length(fits) + 1L]] <- fit_yivi(yi, vi, m, t)
  alpha_fits <- list()
  if (spec$id %in% ALPHA_YIVI_CASES) {
    for (m in ALPHA_YIVI_METHODS) for (t in TESTS) {
      alpha_fits[[length(alpha_fits) + 1L]] <- fit_yivi(yi, vi, m, t, level = ALPHA_LEVEL)
    }
  }
  case <- list(id = spec$id, kind = kind)
  if (kind == "published") {
    case$dataset <- spec$dataset
    case$escalc <- spec$escalc
    case$n_dropped <- as.integer(e$n_dropped)
  } else {
    case$edge <- spec$edge
  }
  case$description <- spec$description
  case$k <- length(yi)
  case$yi <- json_array(yi)
  case$vi <- json_array(vi)
  case$fits <- fits
  case$alpha_fits <- alpha_fits
  case
}

# ---------------------------------------------------------------------------
# 2x2 cases
# ---------------------------------------------------------------------------
published_2x2 <- list(
  list(id = "bcg_2x2", dataset = "dat.bcg", zero_cells = FALSE, double_zero = FALSE,
       data = "with(dat.bcg, data.frame(ai=tpos, n1i=tpos+tneg, ci=cpos, n2i=cpos+cneg))",
       description = "BCG vaccine trials, no zero cells."),
  list(id = "nielweise2007_2x2", dataset = "dat.nielweise2007", zero_cells = TRUE, double_zero = TRUE,
       data = "dat.nielweise2007[, c(\"ai\", \"n1i\", \"ci\", \"n2i\")]",
       description = "Catheter infections: six tables with a zero cell, one of them double-zero."),
  list(id = "hahn2001_2x2", dataset = "dat.hahn2001", zero_cells = TRUE, double_zero = TRUE,
       data = "dat.hahn2001[, c(\"ai\", \"n1i\", \"ci\", \"n2i\")]",
       description = "Reduced-osmolarity oral rehydration (Hahn et al. 2001): three double-zero tables and one single-zero table."),
  list(id = "yusuf1985_table9_2x2", dataset = "dat.yusuf1985", zero_cells = TRUE, double_zero = TRUE,
       data = "na.omit(subset(dat.yusuf1985, table == \"9\")[, c(\"ai\", \"n1i\", \"ci\", \"n2i\")])",
       description = "Beta blockers after myocardial infarction (Yusuf et al. 1985), table 9 without its two trials that have no counts: six double-zero tables.")
)

synthetic_2x2 <- list(
  list(id = "edge_2x2_all_events", edge = "all_events_both_arms", zero_cells = TRUE, double_zero = TRUE,
       data = "data.frame(ai=c(12L, 10L, 0L, 7L), n1i=c(40L, 10L, 25L, 30L), ci=c(15L, 12L, 3L, 9L), n2i=c(42L, 12L, 24L, 31L))",
       description = "Table 2 has all events in both arms (bi = di = 0, treated as double-zero by drop00), table 3 a single zero cell.")
)

fit_2x2 <- function(dat, fun, method, test, add, to, drop00, level = 95) {
  env <- new.env()
  assign("dat", dat, envir = env)
  vec_num <- function(v) if (length(v) == 1L) as.character(v) else paste0("c(", paste(as.character(v), collapse = ", "), ")")
  vec_chr <- function(v) if (length(v) == 1L) paste0("\"", v, "\"") else paste0("c(", paste0("\"", v, "\"", collapse = ", "), ")")
  vec_lgl <- function(v) if (length(v) == 1L) as.character(v) else paste0("c(", paste(as.character(v), collapse = ", "), ")")
  counts <- "ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat"
  opts <- sprintf("add=%s, to=%s, drop00=%s", vec_num(add), vec_chr(to), vec_lgl(drop00))
  call_string <- switch(fun,
    rma.mh = sprintf("rma.mh(measure=\"OR\", %s, %s%s)", counts, opts, sub(", $", "", paste0(", ", level_arg(level)))),
    rma.peto = sprintf("rma.peto(%s, %s%s)", counts, opts, sub(", $", "", paste0(", ", level_arg(level)))),
    rma.uni = sprintf("rma(measure=\"OR\", %s, %s, method=\"%s\", test=\"%s\", %s%s)", counts, opts, method, test, level_arg(level), CONTROL))
  fit <- run_call(call_string, env)
  out <- list(`function` = fun, method = method, test = test, alpha = (100 - level) / 100,
              add = json_array(add), to = json_array(to), drop00 = json_array(drop00),
              call = call_string, warnings = json_array(fit$warnings), error = fit$error)
  if (is.null(fit$value)) {
    out["values"] <- list(NULL)
    return(out)
  }
  res <- fit$value
  b <- num(res$b)
  out$values <- list(
    b = b, se = num(res$se), ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
    exp_b = exp(b), exp_ci_lb = exp(num(res$ci.lb)), exp_ci_ub = exp(num(res$ci.ub)),
    zval = num(res$zval), pval = num(res$pval), tau2 = num(res$tau2),
    QE = num(res$QE), QEp = num(res$QEp), I2 = num(res$I2), H2 = num(res$H2),
    k = as.integer(res$k),
    k_yi = if (is.null(res$k.yi)) NA_integer_ else as.integer(res$k.yi),
    k_pos = if (is.null(res$k.pos)) NA_integer_ else as.integer(res$k.pos)
  )
  if (fun == "rma.mh") {
    out$values$CMH <- num(res$MH)
    out$values$CMHp <- num(res$MHp)
    out$values$tarone <- num(res$TA)
    out$values$tarone_p <- num(res$TAp)
  }
  out
}

make_2x2_case <- function(spec, kind) {
  dat <- eval(parse(text = spec$data))
  dat <- data.frame(ai = as.integer(dat$ai), n1i = as.integer(dat$n1i),
                    ci = as.integer(dat$ci), n2i = as.integer(dat$n2i))
  fits <- list()
  push <- function(f) fits[[length(fits) + 1L]] <<- f
  # Mantel-Haenszel and Peto: the first element of add/to/drop00 governs the
  # study-level log odds ratios used for Q and I^2, the second the pooled
  # estimate (metafor defaults: no correction there).
  for (d00 in c(TRUE, FALSE)) {
    push(fit_2x2(dat, "rma.mh", "MH", "z", c(0.5, 0), c("only0", "none"), c(d00, FALSE)))
  }
  for (d00 in c(TRUE, FALSE)) {
    push(fit_2x2(dat, "rma.peto", "Peto", "z", 0.5, "only0", d00))
  }
  to_values <- c("only0", "all")
  if (spec$id == "bcg_2x2") to_values <- c(to_values, "none")
  for (to in to_values) {
    d00_values <- if (to == "none") FALSE else c(TRUE, FALSE)
    for (d00 in d00_values) for (m in c("FE", "DL", "REML")) for (t in TESTS) {
      push(fit_2x2(dat, "rma.uni", m, t, 0.5, to, d00))
    }
  }
  alpha_fits <- list()
  if (spec$id %in% ALPHA_2X2_CASES) {
    alpha_fits[[1]] <- fit_2x2(dat, "rma.mh", "MH", "z", c(0.5, 0), c("only0", "none"), c(TRUE, FALSE), level = ALPHA_LEVEL)
    alpha_fits[[2]] <- fit_2x2(dat, "rma.peto", "Peto", "z", 0.5, "only0", TRUE, level = ALPHA_LEVEL)
    for (t in TESTS) {
      alpha_fits[[length(alpha_fits) + 1L]] <- fit_2x2(dat, "rma.uni", "REML", t, 0.5, "only0", TRUE, level = ALPHA_LEVEL)
    }
  }
  case <- list(id = spec$id, kind = kind)
  if (kind == "published") case$dataset <- spec$dataset else case$edge <- spec$edge
  case$description <- spec$description
  case$data <- spec$data
  case$zero_cells <- spec$zero_cells
  case$double_zero <- spec$double_zero
  case$k <- nrow(dat)
  case$ai <- json_array(dat$ai)
  case$n1i <- json_array(dat$n1i)
  case$ci <- json_array(dat$ci)
  case$n2i <- json_array(dat$n2i)
  case$fits <- fits
  case$alpha_fits <- alpha_fits
  case
}

# ---------------------------------------------------------------------------
# Assemble and write
# ---------------------------------------------------------------------------
yivi_cases <- c(lapply(published_yivi, make_yivi_case, kind = "published"),
                lapply(synthetic_yivi, make_yivi_case, kind = "synthetic"))
cases_2x2 <- c(lapply(published_2x2, make_2x2_case, kind = "published"),
               lapply(synthetic_2x2, make_2x2_case, kind = "synthetic"))

provenance <- list(
  generator = "tests/r/make_reference.R",
  command = "Rscript --vanilla tests/r/make_reference.R tests/reference",
  R_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  rma_control = CONTROL,
  confint_control = CONFINT_CONTROL,
  alpha_fits = sprintf("alpha_fits repeat some fits with level=%s (alpha = %s)", ALPHA_LEVEL, (100 - ALPHA_LEVEL) / 100),
  methods = json_array(METHODS),
  tests = json_array(TESTS),
  number_format = "17 significant digits (%.17g); NA as null; NaN, Inf, -Inf as strings",
  notes = json_array(c(
    "yi and vi are computed here by the escalc() call stored with each case, so the comparison needs no R.",
    "confint() is the Q-profile interval for tau^2 (Viechtbauer 2007); predict() gives pi (prediction interval); cr equals pi.",
    "For 2x2 fits, b, se, ci_lb, ci_ub are on the log odds ratio scale; exp_* are odds ratios.",
    "rma.mh/rma.peto: add/to/drop00 element 1 applies to the study-level log odds ratios used for Q and I^2; element 2 (rma.mh) to the pooled estimate."))
)

out <- list(provenance = provenance, yivi_cases = yivi_cases, cases_2x2 = cases_2x2)
path <- file.path(outdir, "metafor_core.json")
writeLines(to_json(out), path, useBytes = TRUE)
n_fits <- sum(vapply(c(yivi_cases, cases_2x2), function(x) length(x$fits) + length(x$alpha_fits), 0L))
cat(sprintf("wrote %s: %d yi/vi cases, %d 2x2 cases, %d fits\n", path, length(yivi_cases), length(cases_2x2), n_fits))
