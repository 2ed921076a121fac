# Times one benchmark workload with R's metafor; called by bench/run.py.
#
#   Rscript --vanilla bench/metafor.R WORKLOAD DATADIR OUTDIR [N_ITER]
#
# Reads DATADIR/WORKLOAD.csv (written by bench/run.py), times only the model
# fitting with system.time() (R start-up, package loading and data reading are
# not counted), writes the fitted values to OUTDIR/WORKLOAD.csv and prints one
# line "elapsed=<seconds>" (or "error=<message>").
#
# The timed fits use metafor's default control (threshold = 1e-5, maxiter = 100),
# as a user would run them.  For the agreement check, fits with the project's
# reference control (threshold = 1e-12, maxiter = 10000) are made outside the
# timed part and written to the *_tight columns: for fits_10k on the first
# N_TIGHT analyses, for gosh on every subset, for the permutation test the
# observed model.
suppressPackageStartupMessages(library(metafor))

args <- commandArgs(trailingOnly = TRUE)
workload <- args[1]
datadir <- args[2]
outdir <- args[3]
tight <- list(threshold = 1e-12, maxiter = 10000)
N_TIGHT <- 1000
dat <- read.csv(file.path(datadir, paste0(workload, ".csv")))
out <- file.path(outdir, paste0(workload, ".csv"))
cat("R ", R.version$major, ".", R.version$minor, " metafor ",
    as.character(packageVersion("metafor")), "\n", sep = "")

report <- function(expr_time) cat(sprintf("elapsed=%.6f\n", expr_time[["elapsed"]]))

# Fisher scoring can fail to converge; metafor then stops with an error (kept as NA)
fit_or_null <- function(yi, vi, control = list()) {
  tryCatch(rma(yi, vi, method = "REML", control = control), error = function(e) NULL)
}
values <- function(fit) if (is.null(fit)) c(NA, NA, NA) else c(fit$beta[1], fit$se, fit$tau2)

if (workload == "fits_10k") {
  # long format: analysis, yi, vi; one REML fit per analysis
  ids <- unique(dat$analysis)
  groups <- split(dat[, c("yi", "vi")], factor(dat$analysis, levels = ids))
  res <- matrix(NA_real_, length(ids), 3)
  tm <- system.time(for (j in seq_along(groups)) {
    g <- groups[[j]]
    res[j, ] <- values(fit_or_null(g$yi, g$vi))
  })
  report(tm)
  res_tight <- matrix(NA_real_, length(ids), 3)
  for (j in seq_len(min(N_TIGHT, length(ids)))) {
    g <- groups[[j]]
    res_tight[j, ] <- values(fit_or_null(g$yi, g$vi, tight))
  }
  write.csv(data.frame(analysis = ids, estimate = res[, 1], se = res[, 2], tau2 = res[, 3],
                       estimate_tight = res_tight[, 1], se_tight = res_tight[, 2],
                       tau2_tight = res_tight[, 3]), out, row.names = FALSE)
} else if (workload == "latency_10") {
  # one rma() per analysis, timed as a loop; seconds per fit = elapsed / analyses
  ids <- unique(dat$analysis)
  groups <- split(dat[, c("yi", "vi")], factor(dat$analysis, levels = ids))
  res <- matrix(NA_real_, length(ids), 3)
  tm <- system.time(for (j in seq_along(groups)) {
    g <- groups[[j]]
    res[j, ] <- values(fit_or_null(g$yi, g$vi))
  })
  report(tm)
  write.csv(data.frame(analysis = ids, estimate = res[, 1], se = res[, 2], tau2 = res[, 3]), out,
            row.names = FALSE)
} else if (startsWith(workload, "single_")) {
  res <- tryCatch({
    tm <- system.time(fit <- rma(dat$yi, dat$vi, method = "REML"))
    report(tm)
    write.csv(data.frame(estimate = fit$beta[1], se = fit$se, tau2 = fit$tau2), out,
              row.names = FALSE)
  }, error = function(e) cat("error=", gsub("[\r\n]+", " ", conditionMessage(e)), "\n", sep = ""))
} else if (startsWith(workload, "gosh_")) {
  fit <- rma(dat$yi, dat$vi, method = "REML")
  tm <- system.time(g <- gosh(fit, progbar = FALSE))
  report(tm)
  g_tight <- gosh(rma(dat$yi, dat$vi, method = "REML", control = tight), progbar = FALSE)
  stopifnot(identical(g$incl, g_tight$incl))
  # one row per subset: the included studies as a bit string, then the fitted values
  incl <- apply(g$incl, 1, function(r) paste0("s", paste(as.integer(r), collapse = "")))
  write.csv(data.frame(incl = incl, estimate = g$res$estimate, tau2 = g$res$tau2,
                       estimate_tight = g_tight$res$estimate, tau2_tight = g_tight$res$tau2),
            out, row.names = FALSE)
} else if (startsWith(workload, "permutation_")) {
  fit <- rma(dat$yi, dat$vi, mods = ~ dat$x, method = "REML")
  fit_tight <- rma(dat$yi, dat$vi, mods = ~ dat$x, method = "REML", control = tight)
  n_iter <- as.integer(args[4])
  set.seed(20260101)
  tm <- system.time(p <- permutest(fit, iter = n_iter, progbar = FALSE))
  report(tm)
  write.csv(data.frame(term = c("intrcpt", "x"), estimate = as.numeric(fit_tight$beta),
                       zval = fit_tight$zval, pval = fit_tight$pval, perm_pval = p$pval,
                       QM = fit_tight$QM, QMp = fit_tight$QMp, perm_QMp = p$QMp),
            out, row.names = FALSE)
} else {
  stop("unknown workload ", workload)
}
