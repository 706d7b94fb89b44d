"""OpenAPI examples of the dispatch answers: a real decision on the bundled ``tiny`` scenario
(platinum site GZ-01, severity 1, reported Wed 2025-06-04 10:00 Shanghai), two of its
alternatives kept. A test checks it against the schema."""

from __future__ import annotations

from typing import Any

DISPATCH_EXAMPLE: dict[str, Any] = {'id': 'dsp_5f2c9a0e1b7d4c38',
 'ticket_id': 'INC0012345',
 'status': 'reserved',
 'site_id': 'GZ-01',
 'part_id': 'PSU-1200',
 'severity': 1,
 'quantity': 1,
 'tier': 'platinum',
 'on_time': True,
 'at_risk': False,
 'reason': 'Cheapest of 2 option(s) meeting the deadline; margin 3.21 h.',
 'deadline': {'due_at': '2025-06-04T06:00:00Z',
              'clock_started_at': '2025-06-04T02:00:00Z',
              'milestone': 'part_on_site',
              'coverage': '7x24',
              'timezone': 'Asia/Shanghai',
              'holidays_skipped': [],
              'cutoff_applied': False,
              'explanation': 'Contract Platinum 7x24 4 h (PLAT, tier platinum), severity 1: window '
                             '4 covered hours (hours). The clock starts when the ticket was opened '
                             '(reported_at). Clock start Wed 2025-06-04 10:00 Asia/Shanghai '
                             '(2025-06-04 02:00 UTC). Coverage 7x24. Milestone part_on_site: the '
                             'part must be on site by the due time. No public holiday paused the '
                             'clock. Due Wed 2025-06-04 14:00 Asia/Shanghai (2025-06-04 06:00 '
                             'UTC).'},
 'source_depot_id': 'GZ',
 'mode_id': 'COURIER',
 'shipped_part_id': 'PSU-1200',
 'substitute_part_id': None,
 'eta': '2025-06-04T02:47:17Z',
 'margin_hours': 3.212,
 'cost': 175.91,
 'expected_at': '2025-06-04T02:47:17Z',
 'ready_at': '2025-06-04T02:00:00Z',
 'chosen': {'depot_id': 'GZ',
            'part_id': 'PSU-1200',
            'mode_id': 'COURIER',
            'free_units': 2,
            'critical_level': 0,
            'departs_at': '2025-06-04T02:30:00Z',
            'eta': '2025-06-04T02:47:17Z',
            'margin_hours': 3.212,
            'meets_deadline': True,
            'takes_protected_units': 0,
            'transport_cost': 175.91,
            'protection_cost': 0.0,
            'substitute_cost': 0.0,
            'cost': 175.91,
            'route': 'picked at GZ by Wed 2025-06-04 10:30 Asia/Shanghai (0.5 h handling in '
                     'opening hours 24x7); Dedicated courier (courier) leaves Wed 10:30 and drives '
                     '9 km at up to 70 km/h',
            'lost_because': ''},
 'alternatives': [{'depot_id': 'HQ-SZ',
                   'part_id': 'PSU-1200',
                   'mode_id': 'COURIER',
                   'free_units': 6,
                   'critical_level': 0,
                   'departs_at': '2025-06-04T03:00:00Z',
                   'eta': '2025-06-04T05:59:33Z',
                   'margin_hours': 0.007,
                   'meets_deadline': True,
                   'takes_protected_units': 0,
                   'transport_cost': 538.41,
                   'protection_cost': 0.0,
                   'substitute_cost': 0.0,
                   'cost': 538.41,
                   'route': 'picked at HQ-SZ by Wed 2025-06-04 11:00 Asia/Shanghai (1 h handling '
                            'in opening hours 24x7); Dedicated courier (courier) leaves Wed 11:00 '
                            'and drives 129 km at up to 70 km/h',
                   'lost_because': 'costs 362.50 more (538.41 vs 175.91)'},
                  {'depot_id': 'CD',
                   'part_id': 'PSU-1200',
                   'mode_id': 'AIR',
                   'free_units': 1,
                   'critical_level': 0,
                   'departs_at': '2025-06-04T02:30:00Z',
                   'eta': '2025-06-04T09:59:22Z',
                   'margin_hours': -3.989,
                   'meets_deadline': False,
                   'takes_protected_units': 0,
                   'transport_cost': 878.41,
                   'protection_cost': 0.0,
                   'substitute_cost': 0.0,
                   'cost': 878.41,
                   'route': 'picked at CD by Wed 2025-06-04 10:30 Asia/Shanghai (0.5 h handling in '
                            'opening hours mon-fri 08:00-18:00); courier 15 km to CTU, flight Wed '
                            '12:59 1223 km to CAN, 2 h handling at each hub, courier 37 km to site',
                   'lost_because': 'arrives 3.99 h after the deadline'}],
 'alternatives_total': 2,
 'replenishment_order': {'kind': 'transfer',
                         'depot_id': 'GZ',
                         'part_id': 'PSU-1200',
                         'quantity': 1,
                         'from_id': 'HQ-SZ',
                         'expected_at': '2025-06-05T02:00:00Z',
                         'lead_time_days': 1.0},
 'repair_order': None,
 'sla': {'outcome': None, 'delta_hours': None, 'delivered_at': None},
 'events': [],
 'created_at': '2025-06-04T02:00:00.412000Z'}
