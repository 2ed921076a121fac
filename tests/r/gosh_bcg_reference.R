# Pinned metafor REML fits of every subset of the 13 BCG trials
# (tests/reference/metafor_gosh_bcg.json), for evidence.sensitivity.gosh and the
# intercept-only REML kernel of evidence.tau2.
#
# Usage: Rscript --vanilla tests/r/gosh_bcg_reference.R [OUTPUT.json]
#
# The data are the log risk ratios of dat.bcg (escalc measure "RR").  gosh()
# refits all 2^13 - 1 = 8,191 subsets with the control of the full model
# (threshold 1e-12).  Some subsets have a restricted likelihood with two local
# maxima (one at tau2 = 0); there metafor's Fisher scoring, started at
# max(0, HE), decides which one is reported.  Where Fisher scoring does not
# converge, gosh() leaves the subset NA; those subsets are refitted with
# metafor's documented remedy (stepadj = 0.5) and flagged.  Takes ~30 s.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
out_path <- if (length(args) >= 1) args[1] else "tests/reference/metafor_gosh_bcg.json"

CTL <- list(threshold = 1e-12, maxiter = 10000)
CTL_TXT <- "control=list(threshold=1e-12, maxiter=10000)"

dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
fit <- rma(yi, vi, data = dat, method = "REML", control = CTL)
g <- gosh(fit, progbar = FALSE)
incl <- as.matrix(g$incl)
res <- g$res
code <- as.numeric(incl %*% 2^(0:12))

tau2 <- res$tau2
est <- res$estimate
stepadj <- rep(FALSE, nrow(res))
for (i in which(is.na(tau2) | is.na(est))) {
  sel <- which(incl[i, ])
  r <- rma(yi, vi, data = dat[sel, ], method = "REML",
           control = list(threshold = 1e-12, maxiter = 10000, stepadj = 0.5))
  tau2[i] <- r$tau2
  est[i] <- c(r$beta)
  stepadj[i] <- TRUE
}

out <- list(
  provenance = list(
    r_version = R.version.string,
    metafor_version = as.character(packageVersion("metafor")),
    data = "escalc(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)",
    call = sprintf("gosh(rma(yi, vi, data=dat, method='REML', %s))", CTL_TXT),
    remedy = "subsets left NA by gosh(): rma(..., control=list(threshold=1e-12, maxiter=10000, stepadj=0.5))",
    columns = "code: sum of 2^(i-1) over the trials i in the subset (1-based), in gosh() row order"
  ),
  yi = as.numeric(dat$yi),
  vi = as.numeric(dat$vi),
  code = code,
  k = as.integer(rowSums(incl)),
  tau2 = signif(tau2, 15),
  estimate = signif(est, 15),
  stepadj = which(stepadj) - 1L
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE), out_path)
cat("wrote", out_path, "with", length(code), "subsets;", sum(stepadj), "refitted with stepadj = 0.5\n")
