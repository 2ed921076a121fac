# Pinned metafor output for evidence.compare, evidence.metareg and
# evidence.sensitivity (tests/reference/metafor_toolkit.json).
#
# Usage: Rscript --vanilla tests/r/toolkit_reference.R [OUTPUT.json]
#
# Every case stores its inputs (yi, vi, model matrix), the exact R call and
# metafor's numbers.  Convergence is tightened (threshold 1e-12) so that the
# Python side can be compared at 1e-6 relative.  Runs in well under a minute.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

pdf(NULL)  # baujat() draws its plot; keep it off disk (no Rplots.pdf)

args <- commandArgs(trailingOnly = TRUE)
out_path <- if (length(args) >= 1) args[1] else "tests/reference/metafor_toolkit.json"

CTL <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-12)
CTL_TXT <- "control=list(threshold=1e-12, maxiter=10000, tol=1e-12)"

num <- function(x) {
  x <- as.numeric(x)
  x[is.infinite(x)] <- NA
  x
}

# ---------------------------------------------------------------- data sets
bcg <- escalc(measure = "OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
molloy <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
hack <- dat.hackshaw1998

datasets <- list(
  bcg = list(data = bcg, call = "escalc(measure='OR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)"),
  molloy = list(data = molloy, call = "escalc(measure='ZCOR', ri=ri, ni=ni, data=dat.molloy2014)"),
  hackshaw = list(data = hack, call = "dat.hackshaw1998 (yi, vi as shipped)")
)

data_out <- lapply(datasets, function(d) {
  df <- as.data.frame(d$data)
  cols <- intersect(c("yi", "vi", "ablat", "year", "alloc", "meanage", "quality", "design", "controls"), names(df))
  res <- lapply(cols, function(cc) if (is.factor(df[[cc]])) as.character(df[[cc]]) else df[[cc]])
  names(res) <- cols
  res$yi <- num(df$yi)
  res$vi <- num(df$vi)
  res$call <- d$call
  res
})

# ---------------------------------------------------------------- meta-regression
metareg_specs <- list(
  list(data = "bcg", mods = "~ ablat", columns = list("ablat")),
  list(data = "bcg", mods = "~ ablat + year", columns = list("ablat", "year")),
  list(data = "bcg", mods = "~ factor(alloc)", columns = list("alloc")),
  list(data = "bcg", mods = "~ ablat + year + factor(alloc)", columns = list("ablat", "year", "alloc")),
  list(data = "bcg", mods = "~ factor(alloc) - 1", columns = list("alloc"), intercept = FALSE),
  list(data = "molloy", mods = "~ meanage", columns = list("meanage")),
  list(data = "molloy", mods = "~ meanage + quality", columns = list("meanage", "quality")),
  list(data = "hackshaw", mods = "~ year", columns = list("year")),
  list(data = "hackshaw", mods = "~ factor(design)", columns = list("design"))
)
methods_mods <- c("REML", "ML", "DL", "FE", "HE", "HS", "SJ", "PM", "EB")
metareg <- list()
for (s in metareg_specs) {
  dat <- datasets[[s$data]]$data
  for (m in methods_mods) {
    for (tst in c("z", "knha")) {
      fit <- suppressWarnings(rma(yi, vi, mods = as.formula(s$mods), data = dat, method = m,
                                  test = tst, control = CTL))
      call <- sprintf("rma(yi, vi, mods=%s, data=%s, method='%s', test='%s', %s)",
                      s$mods, s$data, m, tst, CTL_TXT)
      metareg[[length(metareg) + 1]] <- list(
        data = s$data, mods = s$mods, columns = s$columns,
        intercept = if (is.null(s$intercept)) TRUE else s$intercept,
        method = m, test = tst, call = call,
        X = unname(fit$X), colnames = colnames(fit$X),
        beta = num(fit$beta), se = num(fit$se), zval = num(fit$zval), pval = num(fit$pval),
        ci_lb = num(fit$ci.lb), ci_ub = num(fit$ci.ub), tau2 = num(fit$tau2),
        QE = num(fit$QE), QEp = num(fit$QEp), QM = num(fit$QM), QMp = num(fit$QMp),
        QMdf = num(fit$QMdf), I2 = num(fit$I2), H2 = num(fit$H2),
        R2 = if (is.null(fit$R2)) NA else num(fit$R2), k = fit$k, p = fit$p
      )
    }
  }
}

# ---------------------------------------------------------------- permutation tests
perm <- list()
set.seed(20240101)
# exact: all distinct permutations of the model-matrix rows
bcg6 <- bcg[1:6, ]
fit <- rma(yi, vi, mods = ~ ablat, data = bcg6, method = "REML", control = CTL)
pt <- permutest(fit, exact = TRUE, progbar = FALSE, control = list(comptol = 1e-8))
perm[[1]] <- list(name = "bcg6_ablat_exact", yi = num(bcg6$yi), vi = num(bcg6$vi), X = unname(fit$X),
                  method = "REML", test = "z", exact = TRUE, iter = pt$exact.iter,
                  pval = num(pt$pval), QMp = num(pt$QMp), beta = num(fit$beta), QM = num(fit$QM),
                  call = "permutest(rma(yi, vi, mods=~ablat, data=bcg[1:6,], method='REML', control=CTL), exact=TRUE)")
bcg7 <- bcg[1:7, ]
fit <- rma(yi, vi, mods = ~ factor(alloc), data = bcg7, method = "DL", control = CTL)
pt <- permutest(fit, exact = TRUE, progbar = FALSE)
perm[[2]] <- list(name = "bcg7_alloc_exact", yi = num(bcg7$yi), vi = num(bcg7$vi), X = unname(fit$X),
                  method = "DL", test = "z", exact = TRUE, iter = pt$exact.iter,
                  pval = num(pt$pval), QMp = num(pt$QMp), beta = num(fit$beta), QM = num(fit$QM),
                  call = "permutest(rma(yi, vi, mods=~factor(alloc), data=bcg[1:7,], method='DL', control=CTL), exact=TRUE)")
fit <- rma(yi, vi, mods = ~ ablat, data = bcg, method = "REML", control = CTL)
pt <- permutest(fit, iter = 1000, progbar = FALSE, seed = 1234)
perm[[3]] <- list(name = "bcg_ablat_1000", yi = num(bcg$yi), vi = num(bcg$vi), X = unname(fit$X),
                  method = "REML", test = "z", exact = FALSE, iter = 1000,
                  pval = num(pt$pval), QMp = num(pt$QMp), beta = num(fit$beta), QM = num(fit$QM),
                  call = "permutest(rma(yi, vi, mods=~ablat, data=bcg, method='REML', control=CTL), iter=1000, seed=1234)")

# ---------------------------------------------------------------- subgroups
subgroup <- list()
sg_specs <- list(
  list(data = "bcg", group = "alloc"),
  list(data = "hackshaw", group = "design"),
  list(data = "molloy", group = "controls")
)
for (s in sg_specs) {
  dat <- as.data.frame(datasets[[s$data]]$data)
  g <- as.character(dat[[s$group]])
  lev <- sort(unique(g))
  for (m in c("REML", "DL")) {
    for (tst in c("z", "knha")) {
      fits <- lapply(lev, function(l) rma(yi, vi, data = dat[g == l, ], method = m, test = tst, control = CTL))
      b <- sapply(fits, function(f) f$beta[1])
      se <- sapply(fits, function(f) f$se)
      between <- rma(b, sei = se, method = "FE")
      common <- suppressWarnings(rma(yi, vi, mods = ~ factor(g), data = dat, method = m, test = tst, control = CTL))
      cellm <- suppressWarnings(rma(yi, vi, mods = ~ factor(g) - 1, data = dat, method = m, test = tst, control = CTL))
      subgroup[[length(subgroup) + 1]] <- list(
        data = s$data, group = s$group, method = m, test = tst, levels = lev,
        call_separate = sprintf("rma(yi, vi, data=%s, subset=%s==level, method='%s', test='%s', %s); rma(b, sei=se, method='FE')", s$data, s$group, m, tst, CTL_TXT),
        call_common = sprintf("rma(yi, vi, mods=~factor(%s), data=%s, method='%s', test='%s', %s)", s$group, s$data, m, tst, CTL_TXT),
        sep_estimate = num(b), sep_se = num(se), sep_ci_lb = num(sapply(fits, function(f) f$ci.lb)),
        sep_ci_ub = num(sapply(fits, function(f) f$ci.ub)), sep_tau2 = num(sapply(fits, function(f) f$tau2)),
        sep_k = sapply(fits, function(f) f$k),
        sep_Qb = num(between$QE), sep_Qbp = num(between$QEp),
        com_estimate = num(cellm$beta), com_se = num(cellm$se), com_ci_lb = num(cellm$ci.lb),
        com_ci_ub = num(cellm$ci.ub), com_tau2 = num(common$tau2),
        com_QM = num(common$QM), com_QMp = num(common$QMp), com_QMdf = num(common$QMdf)
      )
    }
  }
}

# ---------------------------------------------------------------- two odds ratios (Altman & Bland 2003)
compare <- list()
cmp_cases <- list(
  list(or1 = 0.67, lb1 = 0.52, ub1 = 0.86, or2 = 0.91, lb2 = 0.76, ub2 = 1.09),
  list(or1 = 2.10, lb1 = 1.30, ub1 = 3.39, or2 = 1.20, lb2 = 0.95, ub2 = 1.52)
)
for (cc in cmp_cases) {
  yi <- log(c(cc$or1, cc$or2))
  sei <- (log(c(cc$ub1, cc$ub2)) - log(c(cc$lb1, cc$lb2))) / (2 * qnorm(0.975))
  fit <- rma(yi, sei = sei, mods = ~ c(0, 1), method = "FE")
  compare[[length(compare) + 1]] <- c(cc, list(
    call = "rma(log(c(or1, or2)), sei=(log(ub)-log(lb))/(2*qnorm(.975)), mods=~c(0,1), method='FE'); ratio = or1/or2 = exp(-b1)",
    log_ratio = -num(fit$beta[2]), se = num(fit$se[2]), z = -num(fit$zval[2]), pval = num(fit$pval[2]),
    ci_lb = exp(-num(fit$ci.ub[2])), ci_ub = exp(-num(fit$ci.lb[2]))
  ))
}

# ---------------------------------------------------------------- leave-one-out, cumulative, influence, baujat
l1o <- list(); cum <- list(); infl <- list(); bau <- list()
for (dn in c("bcg", "hackshaw")) {
  dat <- datasets[[dn]]$data
  for (m in c("REML", "DL", "FE")) {
    for (tst in c("z", "knha")) {
      if (m == "FE" && tst == "knha") next
      fit <- rma(yi, vi, data = dat, method = m, test = tst, control = CTL)
      l <- leave1out(fit)
      l1o[[length(l1o) + 1]] <- list(
        data = dn, method = m, test = tst,
        call = sprintf("leave1out(rma(yi, vi, data=%s, method='%s', test='%s', %s))", dn, m, tst, CTL_TXT),
        estimate = num(l$estimate), se = num(l$se), stat = num(if (tst == "z") l$zval else l$tval),
        pval = num(l$pval), ci_lb = num(l$ci.lb), ci_ub = num(l$ci.ub), Q = num(l$Q), Qp = num(l$Qp),
        tau2 = if (m == "FE") rep(0, fit$k) else num(l$tau2), I2 = num(l$I2), H2 = num(l$H2))
      c1 <- cumul(fit, order = dat$year)
      cum[[length(cum) + 1]] <- list(
        data = dn, method = m, test = tst, order_by = "year",
        call = sprintf("cumul(rma(yi, vi, data=%s, method='%s', test='%s', %s), order=year)", dn, m, tst, CTL_TXT),
        estimate = num(c1$estimate), se = num(c1$se), stat = num(if (tst == "z") c1$zval else c1$tval),
        pval = num(c1$pval), ci_lb = num(c1$ci.lb), ci_ub = num(c1$ci.ub), Q = num(c1$Q), Qp = num(c1$Qp),
        tau2 = if (m == "FE") rep(0, fit$k) else num(c1$tau2), I2 = num(c1$I2), H2 = num(c1$H2))
    }
  }
  for (m in c("REML", "DL")) {
    fit <- rma(yi, vi, data = dat, method = m, control = CTL)
    inf <- influence(fit)
    infl[[length(infl) + 1]] <- list(
      data = dn, method = m, test = "z", mods = NA, call = sprintf("influence(rma(yi, vi, data=%s, method='%s', %s))", dn, m, CTL_TXT),
      rstudent = num(inf$inf$rstudent), dffits = num(inf$inf$dffits), cook_d = num(inf$inf$cook.d),
      cov_r = num(inf$inf$cov.r), tau2_del = num(inf$inf$tau2.del), QE_del = num(inf$inf$QE.del),
      hat = num(inf$inf$hat), weight = num(inf$inf$weight), dfbs = lapply(seq_len(fit$p), function(j) num(inf$dfbs[[j]])),
      inf = inf$is.infl)
    b <- baujat(fit)
    bau[[length(bau) + 1]] <- list(
      data = dn, method = m, test = "z", call = sprintf("baujat(rma(yi, vi, data=%s, method='%s', %s))", dn, m, CTL_TXT),
      x = num(b$x), y = num(b$y))
  }
}
fit <- rma(yi, vi, data = bcg, method = "REML", test = "knha", control = CTL)
inf <- influence(fit)
infl[[length(infl) + 1]] <- list(
  data = "bcg", method = "REML", test = "knha", mods = NA,
  call = sprintf("influence(rma(yi, vi, data=bcg, method='REML', test='knha', %s))", CTL_TXT),
  rstudent = num(inf$inf$rstudent), dffits = num(inf$inf$dffits), cook_d = num(inf$inf$cook.d),
  cov_r = num(inf$inf$cov.r), tau2_del = num(inf$inf$tau2.del), QE_del = num(inf$inf$QE.del),
  hat = num(inf$inf$hat), weight = num(inf$inf$weight), dfbs = lapply(seq_len(fit$p), function(j) num(inf$dfbs[[j]])),
  inf = inf$is.infl)
b <- baujat(fit)
bau[[length(bau) + 1]] <- list(
  data = "bcg", method = "REML", test = "knha",
  call = sprintf("baujat(rma(yi, vi, data=bcg, method='REML', test='knha', %s))", CTL_TXT),
  x = num(b$x), y = num(b$y))
fit <- rma(yi, vi, mods = ~ ablat, data = bcg, method = "REML", control = CTL)
inf <- influence(fit)
infl[[length(infl) + 1]] <- list(
  data = "bcg", method = "REML", test = "z", mods = "ablat",
  call = sprintf("influence(rma(yi, vi, mods=~ablat, data=bcg, method='REML', %s))", CTL_TXT),
  rstudent = num(inf$inf$rstudent), dffits = num(inf$inf$dffits), cook_d = num(inf$inf$cook.d),
  cov_r = num(inf$inf$cov.r), tau2_del = num(inf$inf$tau2.del), QE_del = num(inf$inf$QE.del),
  hat = num(inf$inf$hat), weight = num(inf$inf$weight), dfbs = lapply(seq_len(fit$p), function(j) num(inf$dfbs[[j]])),
  inf = inf$is.infl)

# ---------------------------------------------------------------- GOSH (small k: exact enumeration)
gosh_out <- list()
gosh_specs <- list(list(data = "bcg", n = 8, method = "REML"), list(data = "bcg", n = 8, method = "DL"),
                   list(data = "hackshaw", n = 10, method = "REML"), list(data = "bcg", n = 8, method = "FE"))
for (s in gosh_specs) {
  dat <- datasets[[s$data]]$data[seq_len(s$n), ]
  fit <- rma(yi, vi, data = dat, method = s$method, control = CTL)
  g <- gosh(fit, progbar = FALSE)
  gosh_out[[length(gosh_out) + 1]] <- list(
    data = s$data, n = s$n, method = s$method, yi = num(dat$yi), vi = num(dat$vi),
    call = sprintf("gosh(rma(yi, vi, data=%s[1:%d,], method='%s', %s))", s$data, s$n, s$method, CTL_TXT),
    incl = unname(1L * as.matrix(g$incl)), k = g$res$k, QE = num(g$res$QE), I2 = num(g$res$I2),
    H2 = num(g$res$H2), tau2 = num(g$res$tau2), estimate = num(g$res$estimate))
}

out <- list(
  provenance = list(
    script = "tests/r/toolkit_reference.R",
    R_version = R.version.string,
    metafor_version = as.character(packageVersion("metafor")),
    metadat_version = as.character(packageVersion("metadat")),
    control = CTL_TXT
  ),
  data = data_out, metareg = metareg, permutation = perm, subgroup = subgroup, compare = compare,
  leave1out = l1o, cumul = cum, influence = infl, baujat = bau, gosh = gosh_out
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", null = "null", matrix = "rowmajor"), out_path)
cat("wrote", out_path, "\n")
