# Times one benchmark workload with R's metafor; called by bench/run.py.
#
#   Rscript --vanilla bench/metafor.R WORKLOAD DATADIR OUTDIR
#
# Reads DATADIR/WORKLOAD.csv (written by bench/run.py), times only the model
# fitting with system.time() (R start-up and package loading are not counted),
# writes the fitted values to OUTDIR/WORKLOAD.csv and prints one line
# "elapsed=<seconds>" (or "error=<message>").  Every fit uses REML with
# control=list(threshold=1e-12, maxiter=10000), the project's reference setting.
suppressPackageStartupMessages(library(metafor))

args <- commandArgs(trailingOnly = TRUE)
workload <- args[1]
datadir <- args[2]
outdir <- args[3]
ctrl <- list(threshold = 1e-12, maxiter = 10000)
dat <- read.csv(file.path(datadir, paste0(workload, ".csv")))
out <- file.path(outdir, paste0(workload, ".csv"))
cat("R ", R.version$major, ".", R.version$minor, " metafor ",
    as.character(packageVersion("metafor")), "\n", sep = "")

report <- function(expr_time) cat(sprintf("elapsed=%.6f\n", expr_time[["elapsed"]]))

if (workload == "fits_10k") {
  # long format: analysis, yi, vi; one REML fit per analysis
  ids <- unique(dat$analysis)
  groups <- split(dat[, c("yi", "vi")], factor(dat$analysis, levels = ids))
  est <- tau2 <- se <- numeric(length(ids))
  tm <- system.time(for (j in seq_along(groups)) {
    g <- groups[[j]]
    # Fisher scoring can fail to converge; metafor then stops with an error (kept as NA)
    fit <- tryCatch(rma(g$yi, g$vi, method = "REML", control = ctrl), error = function(e) NULL)
    if (is.null(fit)) {
      est[j] <- se[j] <- tau2[j] <- NA
    } else {
      est[j] <- fit$beta[1]
      se[j] <- fit$se
      tau2[j] <- fit$tau2
    }
  })
  report(tm)
  write.csv(data.frame(analysis = ids, estimate = est, se = se, tau2 = tau2), out, row.names = FALSE)
} else if (startsWith(workload, "single_")) {
  res <- tryCatch({
    tm <- system.time(fit <- rma(dat$yi, dat$vi, method = "REML", control = ctrl))
    report(tm)
    write.csv(data.frame(estimate = fit$beta[1], se = fit$se, tau2 = fit$tau2), out, row.names = FALSE)
  }, error = function(e) cat("error=", gsub("[\r\n]+", " ", conditionMessage(e)), "\n", sep = ""))
} else if (startsWith(workload, "gosh_")) {
  fit <- rma(dat$yi, dat$vi, method = "REML", control = ctrl)
  tm <- system.time(g <- gosh(fit, progbar = FALSE))
  report(tm)
  # one row per subset: the included studies as a bit string, then the fitted values
  incl <- apply(g$incl, 1, function(r) paste0("s", paste(as.integer(r), collapse = "")))
  write.csv(data.frame(incl = incl, estimate = g$res$estimate, tau2 = g$res$tau2,
                       QE = g$res$QE, I2 = g$res$I2), out, row.names = FALSE)
} else if (startsWith(workload, "permutation_")) {
  fit <- rma(dat$yi, dat$vi, mods = ~ dat$x, method = "REML", control = ctrl)
  n_iter <- as.integer(args[4])
  set.seed(20260101)
  tm <- system.time(p <- permutest(fit, iter = n_iter, progbar = FALSE))
  report(tm)
  write.csv(data.frame(term = c("intrcpt", "x"), estimate = as.numeric(fit$beta),
                       zval = fit$zval, pval = fit$pval, perm_pval = p$pval,
                       QM = fit$QM, QMp = fit$QMp, perm_QMp = p$QMp), out, row.names = FALSE)
} else {
  stop("unknown workload ", workload)
}
