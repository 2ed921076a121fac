# Times one multilevel fit with R's metafor rma.mv; called by bench/multilevel.py.
#
#   Rscript --vanilla bench/multilevel.R DATA.csv
#
# DATA.csv has columns study, es, x1, x2, yi, vi.  Times only the fit
# rma.mv(yi, vi, mods = ~ x1 + x2, random = ~ 1 | study/es, method = "REML") with
# system.time() (R start-up, loading metafor and reading the data are not counted; metafor's
# default control, as a user runs it) and prints "elapsed=<seconds>" and the estimates as
# "beta=b0,b1,b2" and "sigma2=s1,s2" (or "error=<message>").
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
dat <- read.csv(args[1])
res <- NULL
tm <- system.time(res <- tryCatch(
  rma.mv(yi, vi, mods = ~ x1 + x2, random = ~ 1 | study/es, data = dat, method = "REML"),
  error = function(e) e))
if (inherits(res, "error")) {
  cat("error=", conditionMessage(res), "\n", sep = "")
} else {
  cat(sprintf("elapsed=%.6f\n", tm[["elapsed"]]))
  cat("beta=", paste(sprintf("%.12g", res$beta), collapse = ","), "\n", sep = "")
  cat("sigma2=", paste(sprintf("%.12g", res$sigma2), collapse = ","), "\n", sep = "")
}
