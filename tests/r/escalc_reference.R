# Pinned metafor escalc output for evidence.escalc and evidence.conversions
# (tests/reference/metafor_escalc.json).
#
# Usage: Rscript --vanilla tests/r/escalc_reference.R [OUTPUT.json]
#
# Every case stores the input columns, the exact R call, the Python arguments that must give the
# same numbers, and metafor's yi and vi (NA where metafor drops a study).  Published data sets
# from metadat: dat.bcg (2x2), dat.nielweise2007 (zero cells), dat.hahn2001 (double zeros),
# dat.normand1999 (means), dat.molloy2014 (correlations), dat.pritz1997 (proportions, with
# xi = ni), dat.hart1999 (incidence rates); and dat.landenberger2005 for the README example and notebook 08
# (REML with Knapp-Hartung, Egger's test, leave-one-out, a moderator).  Runs in a few seconds.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
out_path <- if (length(args) >= 1) args[1] else "tests/reference/metafor_escalc.json"

num <- function(x) {
  x <- as.numeric(x)
  x[is.infinite(x)] <- NA
  x
}

cases <- list()
add_case <- function(name, data, call, python) {
  res <- eval(parse(text = call))
  cases[[length(cases) + 1]] <<- list(
    name = name, call = call, python = python,
    data = lapply(as.list(data), function(x) if (is.factor(x)) as.character(x) else x),
    yi = num(res$yi), vi = num(res$vi)
  )
}

# ------------------------------------------------------------------- 2x2 tables
bcg <- dat.bcg[, c("author", "year", "tpos", "tneg", "cpos", "cneg")]
cells <- list(events_exposed = "tpos", nonevents_exposed = "tneg", events_unexposed = "cpos",
              nonevents_unexposed = "cneg", labels = "author")
for (m in c("OR", "RR", "RD", "PETO", "OR2DL", "OR2DN")) {
  add_case(paste0("bcg_", m), bcg,
           sprintf("escalc(measure='%s', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=bcg)", m),
           c(list(measure = m), cells))
}
add_case("bcg_OR_add_all", bcg,
         "escalc(measure='OR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=bcg, add=1/2, to='all')",
         c(list(measure = "OR", correction = "add_all"), cells))

niel <- dat.nielweise2007[, c("author", "year", "ai", "n1i", "ci", "n2i")]
totals <- list(events_exposed = "ai", n_exposed = "n1i", events_unexposed = "ci", n_unexposed = "n2i",
               labels = "author")
for (m in c("OR", "RR", "RD", "PETO")) {
  add_case(paste0("nielweise_", m), niel,
           sprintf("escalc(measure='%s', ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=niel)", m),
           c(list(measure = m, double_zero = "keep"), totals))
}

hahn <- dat.hahn2001
for (m in c("OR", "RR", "RD")) {
  add_case(paste0("hahn_", m, "_drop00"), hahn,
           sprintf("escalc(measure='%s', ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=hahn, drop00=TRUE)", m),
           c(list(measure = m, double_zero = "exclude"), totals[1:4], list(labels = "study")))
  add_case(paste0("hahn_", m, "_keep00"), hahn,
           sprintf("escalc(measure='%s', ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=hahn, drop00=FALSE)", m),
           c(list(measure = m, double_zero = "keep"), totals[1:4], list(labels = "study")))
}

# ------------------------------------------------------------------------ means
normand <- dat.normand1999
means <- list(mean_exposed = "m1i", sd_exposed = "sd1i", n_exposed = "n1i", mean_unexposed = "m2i",
              sd_unexposed = "sd2i", n_unexposed = "n2i", labels = "source")
for (m in c("SMD", "MD", "ROM", "D2ORL", "D2ORN")) {
  add_case(paste0("normand_", m), normand,
           sprintf("escalc(measure='%s', m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=normand)", m),
           c(list(measure = m), means))
}
# SMD from Cohen's d and from a t statistic (metafor's di= and ti=)
normand_t <- normand
sp <- with(normand, sqrt(((n1i - 1) * sd1i^2 + (n2i - 1) * sd2i^2) / (n1i + n2i - 2)))
normand_t$di <- with(normand, (m1i - m2i) / sp)
normand_t$ti <- with(normand_t, di / sqrt(1 / n1i + 1 / n2i))
add_case("normand_SMD_from_d", normand_t, "escalc(measure='SMD', di=di, n1i=n1i, n2i=n2i, data=normand_t)",
         list(measure = "SMD", smd = "di", n_exposed = "n1i", n_unexposed = "n2i", labels = "source"))
add_case("normand_SMD_from_t", normand_t, "escalc(measure='SMD', ti=ti, n1i=n1i, n2i=n2i, data=normand_t)",
         list(measure = "SMD", t = "ti", n_exposed = "n1i", n_unexposed = "n2i", labels = "source"))

# ----------------------------------------------------------------- correlations
molloy <- dat.molloy2014[, c("authors", "year", "ni", "ri")]
molloy$study <- paste(molloy$authors, molloy$year)
for (m in c("COR", "ZCOR")) {
  add_case(paste0("molloy_", m), molloy, sprintf("escalc(measure='%s', ri=ri, ni=ni, data=molloy)", m),
           list(measure = m, r = "ri", n = "ni", labels = "study"))
}

# ------------------------------------------------------------------ proportions
pritz <- dat.pritz1997[, c("authors", "xi", "ni")]
for (m in c("PR", "PLO", "PAS", "PFT")) {
  add_case(paste0("pritz_", m), pritz, sprintf("escalc(measure='%s', xi=xi, ni=ni, data=pritz)", m),
           list(measure = m, events = "xi", n = "ni", labels = "authors"))
}

# ---------------------------------------------------------------- incidence rates
hart <- dat.hart1999[, c("study", "x1i", "t1i", "x2i", "t2i")]
for (m in c("IRR", "IRD")) {
  add_case(paste0("hart_", m), hart, sprintf("escalc(measure='%s', x1i=x1i, t1i=t1i, x2i=x2i, t2i=t2i, data=hart)", m),
           list(measure = m, events_exposed = "x1i", time_exposed = "t1i", events_unexposed = "x2i",
                time_unexposed = "t2i", labels = "study"))
}

# ---------------------------------------------------- generic: estimate with SE, CI, p
gen <- escalc(measure = "OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
gen <- data.frame(author = bcg$author, or = exp(gen$yi), log_or = as.numeric(gen$yi), se = sqrt(gen$vi))
gen$lo90 <- exp(gen$log_or - qnorm(0.95) * gen$se)
gen$hi90 <- exp(gen$log_or + qnorm(0.95) * gen$se)
gen$pval <- 2 * pnorm(-abs(gen$log_or) / gen$se)
add_case("bcg_GEN_se", gen, "escalc(measure='GEN', yi=log_or, sei=se, data=gen)",
         list(measure = "GEN", estimate = "log_or", se = "se", labels = "author"))
add_case("bcg_OR_from_se", gen, "escalc(measure='GEN', yi=log(or), sei=se, data=gen)",
         list(measure = "OR", estimate = "or", se = "se", labels = "author"))
add_case("bcg_OR_from_ci90", gen,
         "escalc(measure='GEN', yi=log(or), sei=(log(hi90) - log(lo90)) / (2 * qnorm(0.95)), data=gen)",
         list(measure = "OR", estimate = "or", ci_low = "lo90", ci_high = "hi90", alpha = 0.1, labels = "author"))
add_case("bcg_OR_from_p", gen,
         "escalc(measure='GEN', yi=log(or), sei=abs(log(or)) / qnorm(pval / 2, lower.tail=FALSE), data=gen)",
         list(measure = "OR", estimate = "or", p_value = "pval", labels = "author"))

# ------------------------------------------------------------------ conversions
conversions <- list()
add_conv <- function(name, fun, inputs, call, expected) {
  conversions[[length(conversions) + 1]] <<- list(name = name, fun = fun, inputs = inputs, call = call,
                                                  expected = lapply(expected, num))
}
# d <-> r (point-biserial), metafor RPB from normand's means
rpb <- escalc(measure = "RPB", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = normand)
d_raw <- normand_t$di
vd <- with(normand, 1 / n1i + 1 / n2i + d_raw^2 / (2 * (n1i + n2i)))
add_conv("d_to_r", "d_to_r", list(d = d_raw, n_exposed = normand$n1i, n_unexposed = normand$n2i, variance = vd),
         "escalc(measure='RPB', m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=dat.normand1999)",
         list(estimate = rpb$yi, variance = rpb$vi))
add_conv("r_to_d", "r_to_d", list(r = as.numeric(rpb$yi), n_exposed = normand$n1i, n_unexposed = normand$n2i,
                                  variance = as.numeric(rpb$vi)),
         "inverse of escalc(measure='RPB', ...): d = (m1i - m2i) / sd_pooled; var = 1/n1i + 1/n2i + d^2/(2 ni)",
         list(estimate = d_raw, variance = vd))
# d <-> log OR: D2ORL / D2ORN from normand, OR2DL / OR2DN from bcg
for (m in c("D2ORL", "D2ORN")) {
  e <- escalc(measure = m, m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = normand)
  add_conv(paste0("d_to_log_or_", m), "d_to_log_or",
           list(d = d_raw, variance = vd, method = if (m == "D2ORL") "logistic" else "probit"),
           sprintf("escalc(measure='%s', m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=dat.normand1999)", m),
           list(estimate = e$yi, variance = e$vi))
}
lor <- escalc(measure = "OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
for (m in c("OR2DL", "OR2DN")) {
  e <- escalc(measure = m, ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
  add_conv(paste0("log_or_to_d_", m), "log_or_to_d",
           list(log_or = as.numeric(lor$yi), variance = as.numeric(lor$vi),
                method = if (m == "OR2DL") "logistic" else "probit"),
           sprintf("escalc(measure='%s', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)", m),
           list(estimate = e$yi, variance = e$vi))
}
# t and F(1, df) -> d (SMD's ti=), checked through escalc's uncorrected d
add_conv("d_from_t", "d_from_t", list(t = normand_t$ti, n_exposed = normand$n1i, n_unexposed = normand$n2i),
         "ti = di / sqrt(1/n1i + 1/n2i) with di the pooled-SD standardised difference of dat.normand1999",
         list(estimate = d_raw))
add_conv("t_from_f", "t_from_f", list(f = normand_t$ti^2, sign = sign(normand_t$ti)),
         "F = ti^2 with ti as for d_from_t", list(estimate = normand_t$ti))
# t -> r: the t statistic of cor.test for molloy's correlations
tm <- with(molloy, ri * sqrt((ni - 2) / (1 - ri^2)))
add_conv("r_from_t", "r_from_t", list(t = tm, df = molloy$ni - 2),
         "t = ri sqrt((ni - 2) / (1 - ri^2)) (the statistic of cor.test) for dat.molloy2014",
         list(estimate = molloy$ri))
# chi^2(1) -> phi: chisq.test(correct=FALSE) on the bcg tables against escalc(measure='PHI')
chi <- sapply(seq_len(nrow(bcg)), function(i) {
  suppressWarnings(chisq.test(matrix(c(bcg$tpos[i], bcg$tneg[i], bcg$cpos[i], bcg$cneg[i]), 2, byrow = TRUE),
                              correct = FALSE)$statistic)
})
phi <- escalc(measure = "PHI", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
add_conv("r_from_chi2", "r_from_chi2",
         list(chi2 = as.numeric(chi), n = with(bcg, tpos + tneg + cpos + cneg), sign = sign(as.numeric(phi$yi))),
         "chisq.test(matrix(c(tpos, tneg, cpos, cneg), 2, byrow=TRUE), correct=FALSE) vs escalc(measure='PHI', ...) on dat.bcg",
         list(estimate = phi$yi))

# ------------------------------------------- the README's and notebook 08's analysis
# Landenberger & Lipsey (2005), dat.landenberger2005: log ORs of non-recidivism, REML with Knapp-Hartung,
# Egger's regression test, leave-one-out and sessions per week as a moderator.
CTL <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-12)
land <- escalc(measure = "OR", ai = n.cbt.non, bi = n.cbt.rec, ci = n.ctrl.non, di = n.ctrl.rec,
               data = dat.landenberger2005)
land_res <- rma(yi, vi, data = land, method = "REML", test = "knha", control = CTL)
land_egger <- regtest(land_res)
land_loo <- leave1out(land_res)
land_mod <- rma(yi, vi, mods = ~ sessions, data = land, method = "REML", test = "knha", control = CTL)
landenberger <- list(
  calls = c("escalc(measure='OR', ai=n.cbt.non, bi=n.cbt.rec, ci=n.ctrl.non, di=n.ctrl.rec, data=dat.landenberger2005)",
            "rma(yi, vi, data=land, method='REML', test='knha', control=list(threshold=1e-12, maxiter=10000, tol=1e-12))",
            "regtest(res)", "leave1out(res)",
            "rma(yi, vi, mods=~sessions, data=land, method='REML', test='knha', control=list(threshold=1e-12, maxiter=10000, tol=1e-12))"),
  yi = as.numeric(land$yi), vi = as.numeric(land$vi),
  estimate = as.numeric(land_res$b), se = land_res$se, ci_low = land_res$ci.lb, ci_high = land_res$ci.ub,
  tau2 = land_res$tau2, i2 = land_res$I2, k = land_res$k,
  egger_statistic = land_egger$zval, egger_p_value = land_egger$pval,
  loo_estimate = as.numeric(land_loo$estimate),
  moderator_estimate = as.numeric(land_mod$b), moderator_se = as.numeric(land_mod$se), moderator_tau2 = land_mod$tau2
)

out <- list(
  description = "metafor escalc output (yi, vi) for evidence.escalc, and conversions for evidence.conversions",
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  script = "tests/r/escalc_reference.R",
  cases = cases,
  conversions = conversions,
  landenberger = landenberger
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE), out_path)
cat("wrote", out_path, "with", length(cases), "cases and", length(conversions), "conversions\n")
