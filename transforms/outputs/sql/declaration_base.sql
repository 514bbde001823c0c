-- 缴费基数申报 (SPEC §7): every employee of P's ledger population in a region whose contribution year starts
-- in P's month: the reference wage W (上年月平均工资) and the base per insurance type.
SELECT m.region, m.entity, m.employee_id, m.name, m.id_number, m.reference_wage, c.insurance_type, c.base
FROM ledger.population($period) m
JOIN ledger.net_contributions($period) c ON c.entity = m.entity AND c.employee_id = m.employee_id
WHERE m.region IN (SELECT unnest($regions::VARCHAR[]))
ORDER BY m.region, m.entity, m.employee_id, c.insurance_type
