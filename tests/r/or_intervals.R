# Reference values for evidence.effect_sizes, pinned in tests/reference/or_intervals.json.
#
# Usage: Rscript --vanilla tests/r/or_intervals.R [OUTPUT_JSON]
# (default output: tests/reference/or_intervals.json, relative to the working directory)
#
# Contents
#   fisher: stats::fisher.test(matrix(c(a, c, b, d), 2), conf.level = 1 - alpha) for 2x2 tables
#           (rows exposed / unexposed, columns event / no event), keeping conf.int, p.value and
#           the conditional MLE; plus the same limits solved to tol = 1e-13 (exact_tight) and
#           their mid-p analogue (midp_tight), see conditional_limits() below, and the
#           two-sided mid-p value (midp_p_value, see midp_pvalue()).
#   escalc: metafor::escalc(measure, ai, n1i, ci, n2i, add = 1/2, to, drop00) yi/vi for
#           dat.nielweise2007 (metadat) plus synthetic tables with zero and double-zero rows,
#           for measure OR / RR / RD and every combination of `to` and `drop00` below.
#   tacc:   the treatment-arm continuity correction (Sweeting, Sutton & Lambert 2004), formed
#           by hand as in R meta's incr = "TACC" (incr.e = n1i / (n1i + n2i),
#           incr.c = n2i / (n1i + n2i), added to every cell of a table with a zero cell), then
#           metafor::escalc(measure, ai + incr.e, bi + incr.e, ci + incr.c, di + incr.c,
#           add = 0, to = "none").
suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[1] else file.path("tests", "reference", "or_intervals.json")

num <- function(x) {
  # JSON cannot hold Inf / NaN: encode them as strings.
  x <- as.numeric(x)
  lapply(x, function(v) {
    if (is.na(v)) "NaN" else if (is.infinite(v)) (if (v > 0) "Inf" else "-Inf") else v
  })
}

# ---- fisher.test -----------------------------------------------------------------------
tables <- list(
  list(label = "Cambridge 15/23 vs 48/227", a = 15, b = 8, c = 48, d = 179, alpha = 0.05),
  list(label = "Cambridge 15/23 vs 48/227 (90%)", a = 15, b = 8, c = 48, d = 179, alpha = 0.10),
  list(label = "Lampasona et al. 2013", a = 9, b = 4, c = 4, d = 10, alpha = 0.05),
  list(label = "lady tasting tea", a = 3, b = 1, c = 1, d = 3, alpha = 0.05),
  list(label = "Perondi et al. 2004", a = 7, b = 27, c = 1, d = 33, alpha = 0.05),
  list(label = "Ritland et al. 2007 (a = 0)", a = 0, b = 16, c = 15, d = 57, alpha = 0.05),
  list(label = "b = 0", a = 5, b = 0, c = 2, d = 8, alpha = 0.05),
  list(label = "c = 0", a = 6, b = 9, c = 0, d = 11, alpha = 0.05),
  list(label = "no events in either group", a = 0, b = 10, c = 0, d = 12, alpha = 0.05),
  list(label = "everyone had the event", a = 10, b = 0, c = 7, d = 0, alpha = 0.05),
  list(label = "OR below 1", a = 2, b = 3, c = 8, d = 1, alpha = 0.05),
  list(label = "moderate", a = 20, b = 80, c = 10, d = 90, alpha = 0.01),
  list(label = "large (tail probabilities below 1e-20)", a = 2000, b = 3000, c = 1500,
       d = 3500, alpha = 0.05)
)
# fisher.test solves for its limits with uniroot's default tolerance
# (.Machine$double.eps^0.25, on the scale of t or 1/t in (0, 1)), so its printed limits
# carry errors up to ~1e-4 on that scale.  `conditional_limits` repeats fisher.test's own
# algorithm (stats:::fisher.test, R 4.2, two-sided branch) with tol = 1e-13, and with
# mid = TRUE the mid-p version (half the probability of the observed table in each tail).
conditional_limits <- function(a, b, c, d, alpha, mid = FALSE, tol = 1e-13) {
  m <- a + c; n <- b + d; k <- a + b; x <- a
  lo <- max(0, k - n); hi <- min(k, m)
  support <- lo:hi
  logdc <- dhyper(support, m, n, k, log = TRUE)
  dnhyper <- function(ncp) {
    if (ncp == 0) return(as.numeric(support == lo))
    if (ncp == Inf) return(as.numeric(support == hi))
    d <- logdc + log(ncp) * support
    d <- exp(d - max(d))
    d / sum(d)
  }
  half <- if (mid) 0.5 else 0
  pnhyper <- function(q, ncp, upper.tail = FALSE) {
    dd <- dnhyper(ncp)
    sum(dd[if (upper.tail) support >= q else support <= q]) - half * dd[support == q]
  }
  ncp_u <- function(x, alpha) {
    if (x == hi) return(Inf)
    p <- pnhyper(x, 1)
    if (p < alpha) uniroot(function(t) pnhyper(x, t) - alpha, c(0, 1), tol = tol)$root
    else if (p > alpha) 1 / uniroot(function(t) pnhyper(x, 1 / t) - alpha,
                                    c(.Machine$double.eps, 1), tol = tol)$root
    else 1
  }
  ncp_l <- function(x, alpha) {
    if (x == lo) return(0)
    p <- pnhyper(x, 1, upper.tail = TRUE)
    if (p > alpha) uniroot(function(t) pnhyper(x, t, upper.tail = TRUE) - alpha, c(0, 1),
                           tol = tol)$root
    else if (p < alpha) 1 / uniroot(function(t) pnhyper(x, 1 / t, upper.tail = TRUE) - alpha,
                                    c(.Machine$double.eps, 1), tol = tol)$root
    else 1
  }
  if (lo == hi) return(c(0, Inf))
  c(ncp_l(x, alpha / 2), ncp_u(x, alpha / 2))
}

# Two-sided mid-p value: twice the smaller one-sided mid-p tail of the central
# hypergeometric distribution (capped at 1).
midp_pvalue <- function(a, b, c, d) {
  m <- a + c; n <- b + d; k <- a + b
  support <- max(0, k - n):min(k, m)
  p <- dhyper(support, m, n, k)
  half <- 0.5 * sum(p[support == a])
  min(1, 2 * min(sum(p[support > a]) + half, sum(p[support < a]) + half))
}

fisher <- lapply(tables, function(t) {
  m <- matrix(c(t$a, t$c, t$b, t$d), nrow = 2)
  ft <- fisher.test(m, conf.level = 1 - t$alpha)
  tight <- conditional_limits(t$a, t$b, t$c, t$d, t$alpha)
  midp <- conditional_limits(t$a, t$b, t$c, t$d, t$alpha, mid = TRUE)
  list(
    label = t$label, a = t$a, b = t$b, c = t$c, d = t$d, alpha = t$alpha,
    call = sprintf("fisher.test(matrix(c(%g, %g, %g, %g), nrow = 2), conf.level = %g)",
                   t$a, t$c, t$b, t$d, 1 - t$alpha),
    ci_low = num(ft$conf.int[1])[[1]], ci_high = num(ft$conf.int[2])[[1]],
    p_value = num(ft$p.value)[[1]], conditional_mle = num(ft$estimate)[[1]],
    exact_tight = num(tight), midp_tight = num(midp),
    midp_p_value = num(midp_pvalue(t$a, t$b, t$c, t$d))[[1]]
  )
})

# ---- escalc ------------------------------------------------------------------------------
dat <- dat.nielweise2007
synthetic <- data.frame(
  study = c("synthetic double zero (no events)", "synthetic double zero (all events)",
            "synthetic a = 0", "synthetic b = 0", "synthetic c = 0", "synthetic d = 0",
            "synthetic unbalanced c = 0", "synthetic no zero"),
  ai = c(0, 10, 0, 12, 4, 3, 2, 30),
  n1i = c(10, 10, 25, 12, 40, 20, 8, 120),
  ci = c(0, 7, 6, 5, 0, 15, 0, 18),
  n2i = c(12, 7, 30, 20, 35, 15, 60, 110)
)
tab <- data.frame(
  study = c(paste(dat$author, dat$year), synthetic$study),
  ai = c(dat$ai, synthetic$ai), n1i = c(dat$n1i, synthetic$n1i),
  ci = c(dat$ci, synthetic$ci), n2i = c(dat$n2i, synthetic$n2i)
)

escalc_runs <- list()
for (measure in c("OR", "RR", "RD")) {
  for (to in c("only0", "all", "none")) {
    for (drop00 in c(TRUE, FALSE)) {
      es <- suppressWarnings(escalc(measure = measure, ai = ai, n1i = n1i, ci = ci, n2i = n2i,
                                    data = tab, add = 1/2, to = to, drop00 = drop00))
      escalc_runs[[length(escalc_runs) + 1]] <- list(
        measure = measure, to = to, drop00 = drop00,
        call = sprintf(paste0("escalc(measure = \"%s\", ai = ai, n1i = n1i, ci = ci, n2i = n2i, ",
                              "data = tab, add = 1/2, to = \"%s\", drop00 = %s)"),
                       measure, to, drop00),
        yi = num(es$yi), vi = num(es$vi)
      )
    }
  }
}

tacc_runs <- list()
bi <- tab$n1i - tab$ai
di <- tab$n2i - tab$ci
zero <- (tab$ai == 0) | (bi == 0) | (tab$ci == 0) | (di == 0)
incr_e <- ifelse(zero, tab$n1i / (tab$n1i + tab$n2i), 0)
incr_c <- ifelse(zero, tab$n2i / (tab$n1i + tab$n2i), 0)
for (measure in c("OR", "RR", "RD")) {
  es <- suppressWarnings(escalc(measure = measure, ai = tab$ai + incr_e, bi = bi + incr_e,
                                ci = tab$ci + incr_c, di = di + incr_c, add = 0, to = "none"))
  tacc_runs[[length(tacc_runs) + 1]] <- list(
    measure = measure,
    call = sprintf(paste0("escalc(measure = \"%s\", ai = ai + incr_e, bi = bi + incr_e, ",
                          "ci = ci + incr_c, di = di + incr_c, add = 0, to = \"none\")"), measure),
    yi = num(es$yi), vi = num(es$vi)
  )
}

result <- list(
  provenance = list(
    script = "tests/r/or_intervals.R",
    r_version = R.version.string,
    metafor_version = as.character(packageVersion("metafor")),
    metadat_version = as.character(packageVersion("metadat")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    note = "Inf / -Inf / NaN are stored as strings."
  ),
  fisher = fisher,
  escalc_tables = list(study = tab$study, ai = tab$ai, n1i = tab$n1i, ci = tab$ci, n2i = tab$n2i),
  escalc = escalc_runs,
  tacc = tacc_runs
)

writeLines(toJSON(result, auto_unbox = TRUE, digits = NA, pretty = TRUE), out)
