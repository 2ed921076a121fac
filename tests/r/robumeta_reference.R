# Pinned robumeta output for evidence.robust.robu / rho_sensitivity (tests/reference/robumeta.json).
#
# Usage: Rscript --vanilla tests/r/robumeta_reference.R [OUTPUT.json]
#
# robu() with the correlated-effects (CORR) and hierarchical-effects (HIER)
# working models, small = TRUE and FALSE, on robumeta's own example data
# (corrdat, hierdat), two metadat data sets (dat.assink2016,
# dat.konstantopoulos2011) and seeded random data with unbalanced clusters
# including clusters of one effect.  For every case the inputs (y, v, model
# matrix, cluster), the coefficient table, tau.sq (and omega.sq / I.2, term1,
# term2) and the final weights (in input row order) are stored.
# robumeta's sensitivity() prints its table rounded to 3 digits; its numbers
# are those of robu() refitted at rho = 0, 0.2, ..., 1 (tau.sq = term1 + rho *
# term2 with term1, term2 from the initial fit), which is what is pinned here
# as "sensitivity" (b.r, SE, tau.sq at each rho).  Runs in a few seconds.

suppressPackageStartupMessages({
  library(robumeta)
  library(metadat)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
out_path <- if (length(args) >= 1) args[1] else "tests/reference/robumeta.json"

num <- function(x) I(as.numeric(x))

set.seed(20260102)
n_cl <- 14
sizes <- c(1, 4, 1, 2, 8, 1, 3, 5, 1, 2, 6, 1, 3, 2)
cl <- rep(seq_len(n_cl), sizes)
k <- length(cl)
x1 <- round(rnorm(k), 3)
x2 <- rep(rbinom(n_cl, 1, 0.5), sizes)
vi_sim <- round(runif(k, 0.01, 0.2), 4)
yi_sim <- round(0.3 + 0.15 * x1 - 0.25 * x2 + rnorm(n_cl, 0, 0.3)[cl] + rnorm(k, 0, 0.1) + rnorm(k, 0, sqrt(vi_sim)), 4)
sim <- data.frame(cluster = cl, yi = yi_sim, vi = vi_sim, x1 = x1, x2 = x2)

datasets <- list(
  corrdat = list(data = transform(corrdat, yi = effectsize, vi = var, cluster = studyid),
                 call = "corrdat (robumeta 2.0); yi = effectsize, vi = var, cluster = studyid"),
  hierdat = list(data = transform(hierdat, yi = effectsize, vi = var, cluster = studyid),
                 call = "hierdat (robumeta 2.0); yi = effectsize, vi = var, cluster = studyid"),
  assink2016 = list(data = transform(dat.assink2016, cluster = study),
                    call = "dat.assink2016 (metadat); cluster = study"),
  konstantopoulos2011 = list(data = transform(dat.konstantopoulos2011, cluster = district, year_c = year - 1990),
                             call = "dat.konstantopoulos2011 (metadat); cluster = district, year_c = year - 1990"),
  simulated = list(data = sim, call = paste(
    "set.seed(20260102); 14 clusters of sizes 1,4,1,2,8,1,3,5,1,2,6,1,3,2; x1 ~ N(0,1) (3 dp),",
    "x2 cluster-level Bernoulli(0.5), vi ~ U(0.01, 0.2) (4 dp),",
    "yi = 0.3 + 0.15 x1 - 0.25 x2 + N(0, 0.3^2) per cluster + N(0, 0.1^2) + N(0, vi) (4 dp)"))
)

specs <- list(
  list(data = "corrdat", formula = "yi ~ males + college + binge", columns = c("males", "college", "binge")),
  list(data = "corrdat", formula = "yi ~ 1", columns = character(0)),
  list(data = "hierdat", formula = "yi ~ binge + followup + sreport + age", columns = c("binge", "followup", "sreport", "age")),
  list(data = "hierdat", formula = "yi ~ 1", columns = character(0)),
  list(data = "assink2016", formula = "yi ~ year", columns = c("year")),
  list(data = "konstantopoulos2011", formula = "yi ~ year_c", columns = c("year_c")),
  list(data = "simulated", formula = "yi ~ x1 + x2", columns = c("x1", "x2")),
  list(data = "simulated", formula = "yi ~ 1", columns = character(0))
)

cases <- list()
for (s in specs) {
  dat <- datasets[[s$data]]$data
  ord <- order(as.numeric(as.factor(dat$cluster)))
  for (mw in c("CORR", "HIER")) {
    for (small in c(TRUE, FALSE)) {
      fit <- robu(as.formula(s$formula), data = dat, studynum = cluster, var.eff.size = vi,
                  modelweights = mw, rho = 0.8, small = small)
      tab <- fit$reg_table
      w <- numeric(nrow(dat))
      w[ord] <- fit$data.full$r.weights
      case <- list(
        data = s$data, formula = s$formula, columns = I(s$columns), modelweights = mw, small = small,
        call = sprintf("robu(%s, data=%s, studynum=cluster, var.eff.size=vi, modelweights='%s', rho=0.8, small=%s)",
                       s$formula, s$data, mw, small),
        y = num(dat$yi), v = num(dat$vi), cluster = I(as.character(dat$cluster)),
        X = unname(model.matrix(as.formula(s$formula), dat)), labels = I(as.character(tab$labels)),
        b = num(tab$b.r), SE = num(tab$SE), t = num(tab$t), dfs = num(tab$dfs), prob = num(tab$prob),
        CI_L = num(tab$CI.L), CI_U = num(tab$CI.U), tau_sq = as.numeric(fit$mod_info$tau.sq),
        weights = num(w)
      )
      if (mw == "CORR") {
        case$rho <- 0.8
        case$I2 <- as.numeric(fit$mod_info$I.2)
        case$term1 <- as.numeric(fit$mod_info$term1)
        case$term2 <- as.numeric(fit$mod_info$term2)
        sens <- lapply(seq(0, 1, 0.2), function(r) {
          f <- robu(as.formula(s$formula), data = dat, studynum = cluster, var.eff.size = vi,
                    modelweights = "CORR", rho = r, small = small)
          list(rho = r, b = num(f$reg_table$b.r), SE = num(f$reg_table$SE), tau_sq = as.numeric(f$mod_info$tau.sq))
        })
        case$sensitivity <- sens
      } else {
        case$omega_sq <- as.numeric(fit$mod_info$omega.sq)
      }
      cases[[length(cases) + 1]] <- case
    }
  }
}

out <- list(
  provenance = list(
    script = "tests/r/robumeta_reference.R",
    R_version = R.version.string,
    robumeta_version = as.character(packageVersion("robumeta")),
    metadat_version = as.character(packageVersion("metadat")),
    sensitivity = "robu(..., modelweights='CORR', rho=r) for r in seq(0, 1, 0.2) (what sensitivity() prints, unrounded)"
  ),
  data = lapply(datasets, function(d) d$call),
  cases = cases
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, null = "null", matrix = "rowmajor"), out_path)
